// One harness per target for the conformance suite: the same cast of users, set up on each
// target's own test server through that server's exported API, so that one contract test runs
// unchanged against all four. What a harness cannot express (a folder has no unknown or
// deactivated users, and no credentials) is left out, and the suite says so.
import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { createLogger } from '../../../src/log.js';
import { readConfig as readAuthgearConfig } from '../../../src/targets/authgear/options.js';
import { AuthgearTarget } from '../../../src/targets/authgear/target.js';
import { authgearTarget } from '../../../src/targets/authgear/index.js';
import { DirTarget } from '../../../src/targets/dir/dir.js';
import { MatrixTarget } from '../../../src/targets/matrix/target.js';
import type { Avatar, Target } from '../../../src/targets/target.js';
import { ZulipTarget } from '../../../src/targets/zulip/target.js';
import type { KeyMap, UserKey } from '../../../src/targets/zulip/credentials.js';
import { FakeAuthgear } from '../../../testkit/servers/authgear.js';
import { FakeSynapse } from '../../../testkit/servers/synapse.js';
import { FakeZulip } from '../../../testkit/servers/zulip.js';
import { inputFor } from '../../support/targets.js';

/** The users every harness provides, as the CSV would name them. */
export interface Cast {
  /** Exists, active, and shows the server's default avatar. */
  readonly fresh: string;
  /** Exists, active, and chose an avatar of their own before the tool ever ran. */
  readonly ownAvatar: string;
  /** `fresh` written as another row might write it; the same user on a case-insensitive target. */
  readonly freshOtherCase: string;
  /** Refused with these codes (`Harness.refuses`); a folder has no such users. */
  readonly unknown?: string;
  readonly deactivated?: string;
  readonly invalid?: string;
}

export interface World {
  readonly cast: Cast;
  /** A target on this server, not opened yet; each call is a new one (the next run). */
  target(): Target;
  /** The same server with credentials it refuses: `open` must fail with a FatalError. */
  refusedTarget?(): Promise<Target>;
  /** What the user does in the app or the portal: picks another picture of their own. */
  userSetsAvatar(user: string): Promise<void>;
  /** Adds `count` active users with the server's default avatar (before `target()` is built);
   * returns them as the CSV would name them. */
  addUsers(count: number): Promise<string[]>;
  /** HTTP requests the server has answered so far (a folder: none). */
  requests(): number;
  close(): Promise<void>;
}

export interface Harness {
  readonly name: string;
  /** Whether the target has users it refuses (unknown, deactivated, invalid ids) and
   * credentials a server can refuse: a folder has neither. */
  readonly refuses: boolean;
  /** Whether the target, as the harness builds it, finds users in bulk or in batches
   * (`features.bulkDiscovery` or `features.batchesLookups`). */
  readonly bulk: boolean;
  start(): Promise<World>;
}

const quiet = () => createLogger({ write: () => undefined });
const pacing = { minBackoffMs: 1, maxBackoffMs: 10, maxPauseMs: 10 };

/** A real baseline JPEG (the Zulip server decodes what it is sent, as the real one does). */
export async function avatar(seed: number): Promise<Avatar> {
  const jpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: (seed * 40) & 255, g: (seed * 90) & 255, b: 120 } } }).jpeg().toBuffer();
  return { jpeg, sha256: createHash('sha256').update(jpeg).digest('hex'), edge: 64, quality: 85 };
}

const dir: Harness = {
  name: 'dir',
  bulk: false,
  refuses: false,
  async start() {
    const out = await mkdtemp(join(tmpdir(), 'conformance-dir-'));
    const make = () => new DirTarget({ out, checksum: false });
    const own = 'ana.own@corp.example';
    // Someone put a picture there before the tool ever ran.
    await writeFile(make().pathFor(own), (await avatar(90)).jpeg);
    return {
      cast: { fresh: 'ana@corp.example', ownAvatar: own, freshOtherCase: 'ana@corp.example' },
      target: make,
      async userSetsAvatar(user) {
        await writeFile(make().pathFor(user), (await avatar(91)).jpeg);
      },
      addUsers: async (count) => Array.from({ length: count }, (_, i) => `user${i}@corp.example`),
      requests: () => 0,
      async close() {},
    };
  },
};

const matrix: Harness = {
  name: 'matrix',
  bulk: true,
  refuses: true,
  async start() {
    const synapse = await FakeSynapse.start();
    const fresh = synapse.addUser('ana');
    const own = synapse.addUser('bo', { avatar_url: 'mxc://example.org/BoChoseThis' });
    synapse.addUser('cy', { deactivated: true });
    const make = (token: string) =>
      new MatrixTarget({ homeserver: synapse.url, token, concurrency: 4, retries: 3 }, { log: quiet(), pacing });
    return {
      cast: { fresh, ownAvatar: own, freshOtherCase: fresh, unknown: '@ghost:example.org', deactivated: '@cy:example.org', invalid: 'ana@example.org' },
      target: () => make(synapse.adminToken),
      refusedTarget: async () => make('syt_expired_token_1111'),
      async userSetsAvatar(user) {
        // As Element does: upload with the user's own token, then the profile PUT.
        const token = synapse.login(user);
        const auth = { authorization: `Bearer ${token}` };
        const upload = await fetch(`${synapse.url}/_matrix/media/v3/upload?filename=me.jpg`, {
          method: 'POST', headers: { ...auth, 'content-type': 'image/jpeg' }, body: (await avatar(91)).jpeg,
        });
        const { content_uri } = (await upload.json()) as { content_uri: string };
        const put = await fetch(`${synapse.url}/_matrix/client/v3/profile/${encodeURIComponent(user)}/avatar_url`, {
          method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ avatar_url: content_uri }),
        });
        if (put.status !== 200) throw new Error(`the user could not set their avatar: HTTP ${put.status}`);
      },
      addUsers: async (count) => Array.from({ length: count }, (_, i) => synapse.addUser(`user${i}`)),
      requests: () => synapse.server.requests.length,
      close: () => synapse.close(),
    };
  },
};

const zulip: Harness = {
  name: 'zulip',
  bulk: true,
  refuses: true,
  async start() {
    const server = await FakeZulip.start();
    const fresh = server.addUser('Ana@Corp.Example');
    const own = server.addUser('bo@corp.example', { avatarSource: 'U', avatarVersion: 4 });
    server.addUser('cy@corp.example', { isActive: false });
    // --credentials: each user's own key, as a CSV of email,api_key would give them.
    const keys = new Map<string, UserKey>();
    for (const user of [fresh, own]) keys.set(user.email.toLowerCase(), { email: user.email, key: user.apiKey, from: 'test' });
    const make = (adminKey: string) =>
      new ZulipTarget(
        { site: server.url, admin: { email: server.admin.email, key: adminKey }, mode: { kind: 'credentials', keys: keys as KeyMap }, concurrency: 4, retries: 3 },
        { log: quiet(), pacing },
      );
    return {
      cast: { fresh: 'ana@corp.example', ownAvatar: own.email, freshOtherCase: ' ANA@corp.EXAMPLE', unknown: 'ghost@corp.example', deactivated: 'cy@corp.example', invalid: 'not an email' },
      target: () => make(server.admin.apiKey),
      refusedTarget: async () => make('A'.repeat(32)),
      async userSetsAvatar(user) {
        server.userChangesAvatar(user);
      },
      async addUsers(count) {
        return Array.from({ length: count }, (_, i) => {
          const user = server.addUser(`user${i}@corp.example`);
          keys.set(user.email, { email: user.email, key: user.apiKey, from: 'test' });
          return user.email;
        });
      },
      requests: () => server.server.requests.length,
      close: () => server.close(),
    };
  },
};

const authgear: Harness = {
  name: 'authgear',
  bulk: true,
  refuses: true,
  async start() {
    const server = await FakeAuthgear.start();
    const ids = new Map([
      ['ana@acme.example', server.addUser({ email: 'ana@acme.example' })],
      ['bo@acme.example', server.addUser({ email: 'bo@acme.example', standard: { picture: 'https://photos.example/bo-chose-this.jpg' } })],
    ]);
    server.addUser({ email: 'cy@acme.example', deactivated: true });
    const keyDir = await mkdtemp(join(tmpdir(), 'conformance-authgear-'));
    const keyFile = async (pem: string, keyId: string) => {
      const file = join(keyDir, `${keyId}.pem`);
      await writeFile(file, pem, { mode: 0o600 });
      return file;
    };
    const config = async (file: string) => {
      const input = inputFor(authgearTarget, { endpoint: server.url, 'project-id': server.projectId, 'admin-key-file': file, retries: 3 }, { runId: 'conformance', log: quiet() });
      return readAuthgearConfig(input.options, input.context);
    };
    const good = await config(await keyFile(server.privateKeyPem, server.keyId));
    return {
      cast: { fresh: 'ana@acme.example', ownAvatar: 'bo@acme.example', freshOtherCase: 'Ana@ACME.example', unknown: 'ghost@acme.example', deactivated: 'cy@acme.example', invalid: 'not an email' },
      target: () => new AuthgearTarget(good, { log: quiet(), pacing }),
      // A key the project does not know (generating one takes a while: only when asked).
      refusedTarget: async () => new AuthgearTarget(await config(await keyFile(FakeAuthgear.generateKey().privateKeyPem, 'unknown-key')), { log: quiet(), pacing }),
      async userSetsAvatar(user) {
        // What the portal or the user's settings page does: another picture URL, nothing else.
        server.setAttribute(ids.get(user.toLowerCase())!, 'picture', 'https://photos.example/chosen-later.jpg');
      },
      async addUsers(count) {
        return Array.from({ length: count }, (_, i) => {
          server.addUser({ email: `user${i}@acme.example` });
          return `user${i}@acme.example`;
        });
      },
      requests: () => server.server.requests.length,
      close: () => server.close(),
    };
  },
};

export const harnesses: readonly Harness[] = [dir, matrix, zulip, authgear];
