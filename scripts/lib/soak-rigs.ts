// One rig per target for the soak scripts: a test server (or a folder) with N users, the CSV and
// photos the CLI is run on, the CLI arguments and environment for that target, and the server's
// own view of each user (what it holds, how many times the avatar was written), read from the
// server's state, never through avatar-import's own code.
//
// The servers are the contract-faithful fakes of testkit/servers/; the Authgear fake still lives in
// test/servers/ until it moves there too (issue 17 reshapes it).
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { DirTarget } from '../../src/targets/dir/dir.js';
import { FakeAuthgear } from '../../testkit/servers/authgear.js';
import { FakeSynapse } from '../../testkit/servers/synapse.js';
import { FakeZulip } from '../../testkit/servers/zulip.js';

export type TargetName = 'dir' | 'matrix' | 'zulip' | 'authgear';
export const TARGETS: readonly TargetName[] = ['dir', 'matrix', 'zulip', 'authgear'];

export interface Rig {
  readonly name: TargetName;
  /** The folder holding people.csv, photos/ and the ledger. */
  readonly dir: string;
  readonly csv: string;
  readonly ledger: string;
  /** The CSV's users, in order. */
  readonly users: readonly string[];
  /** The server's base URL (what a fault proxy goes in front of); undefined for dir. */
  readonly serverUrl?: string;
  /** CLI arguments for one run, talking to `url` (the server, or a proxy in front of it). */
  args(url?: string): string[];
  readonly env: Record<string, string>;
  /** What the target holds for the user, in the form the ledger's `remote` has (hosts dropped:
   * a proxy in front changes the host in URLs the server builds). */
  current(user: string): Promise<string | undefined>;
  /** Avatar writes the server saw for the user; undefined when it keeps no such record (dir). */
  writes(user: string): number | undefined;
  /** Hold every answer this long after the server did the work (no-op for dir): the moment a
   * kill must hit for a write to be applied but not recorded. */
  answerAfter(ms: number): void;
  close(): Promise<void>;
}

/** Small distinct photos (fast to normalise); another `variant` is everyone's new HR photo. */
export async function photos(dir: string, count: number, variant = 0): Promise<void> {
  await mkdir(join(dir, 'photos'), { recursive: true });
  for (let i = 0; i < count; i++) {
    const jpeg = await sharp({ create: { width: 128, height: 128, channels: 3, background: { r: (i * 37) & 255, g: (i * 91) & 255, b: (i * 53 + variant * 101) & 255 } } })
      .composite([{ input: { create: { width: 32, height: 32, channels: 3, background: { r: (i >> 8) & 255, g: i & 255, b: 7 + variant * 60 } } }, left: (i % 96), top: 40 + variant * 20 }])
      .jpeg({ quality: 80 })
      .toBuffer();
    await writeFile(join(dir, 'photos', `p${i}.jpg`), jpeg);
  }
}

async function people(dir: string, header: string, users: readonly string[]): Promise<string> {
  await photos(dir, users.length);
  const csv = join(dir, 'people.csv');
  await writeFile(csv, [`${header},photo`, ...users.map((u, i) => `${u},photos/p${i}.jpg`)].join('\n') + '\n');
  return csv;
}

const COMMON = ['--progress', 'off', '--min-size', '64', '--jobs', '2'];
const withoutHost = (value: string | undefined): string | undefined => value?.replace(/^(https?:)\/\/[^/]+/, '$1//');

export async function startRig(name: TargetName, dir: string, count: number): Promise<Rig> {
  await mkdir(dir, { recursive: true });
  const ledger = join(dir, 'people.ledger.jsonl');
  switch (name) {
    case 'dir': {
      const users = Array.from({ length: count }, (_, i) => `u${i}`);
      const csv = await people(dir, 'user_id', users);
      const out = join(dir, 'avatars');
      const target = new DirTarget({ out, checksum: false });
      return {
        name, dir, csv, ledger, users, env: {},
        args: () => [csv, '--target', 'dir', '--out', out, '--ledger', ledger, ...COMMON],
        current: async (user) => {
          const bytes = await readFile(target.pathFor(user)).catch(() => undefined);
          return bytes && createHash('sha256').update(bytes).digest('hex');
        },
        writes: () => undefined,
        answerAfter: () => undefined,
        close: async () => undefined,
      };
    }
    case 'matrix': {
      const synapse = await FakeSynapse.start();
      const users = Array.from({ length: count }, (_, i) => synapse.addUser(`u${i}`));
      const csv = await people(dir, 'user_id', users);
      return {
        name, dir, csv, ledger, users, serverUrl: synapse.url, env: { MATRIX_ACCESS_TOKEN: synapse.adminToken },
        args: (url = synapse.url) => [csv, '--target', 'matrix', '--homeserver', url, '--ledger', ledger, ...COMMON],
        current: async (user) => synapse.avatarOf(user) ?? undefined,
        writes: (user) => synapse.avatarWrites.filter((w) => w.user === user).length,
        answerAfter: (ms) => synapse.setFaults({ latencyMs: ms }),
        close: () => synapse.close(),
      };
    }
    case 'zulip': {
      const secret = 'soak-jwt-secret-0123456789abcdefghij';
      // The server's own limits lifted (as an admin exempts the importing host): its honest 429s
      // (100 JWT fetches a minute per IP) would pause the run for tens of seconds, which is not
      // what the soak measures.
      const unlimited = { requests: 1_000_000, windowMs: 60_000 };
      const zulip = await FakeZulip.start({ jwtSecret: secret, userRateLimit: unlimited, ipRateLimit: unlimited });
      const users = Array.from({ length: count }, (_, i) => zulip.addUser(`u${i}@corp.example`).email);
      const csv = await people(dir, 'email', users);
      const secretFile = join(dir, 'jwt.secret');
      await writeFile(secretFile, secret + '\n', { mode: 0o600 });
      const rc = join(dir, 'admin.zuliprc');
      await writeFile(rc, `[api]\nemail=${zulip.admin.email}\nkey=${zulip.admin.apiKey}\n`, { mode: 0o600 });
      return {
        name, dir, csv, ledger, users, serverUrl: zulip.url,
        env: { ZULIP_EMAIL: '', ZULIP_API_KEY: '', ZULIP_SITE: '', XDG_CONFIG_HOME: join(dir, 'config') },
        args: (url = zulip.url) => [csv, '--target', 'zulip', '--admin-zuliprc', rc, '--site', url, '--jwt-key-file', secretFile, '--ledger', ledger, ...COMMON],
        current: async (user) => String(zulip.byEmail(user)!.avatarVersion),
        writes: (user) => {
          const id = zulip.byEmail(user)!.userId;
          return zulip.uploads.filter((u) => u.userId === id).length;
        },
        answerAfter: (ms) => zulip.setFaults({ latencyMs: ms }),
        close: () => zulip.close(),
      };
    }
    case 'authgear': {
      const authgear = await FakeAuthgear.start();
      const users = Array.from({ length: count }, (_, i) => `u${i}@acme.example`);
      const ids = new Map(users.map((u) => [u, authgear.addUser({ email: u })]));
      const csv = await people(dir, 'email', users);
      await mkdir(join(dir, 'keys'), { recursive: true });
      const keyFile = join(dir, 'keys', `${authgear.keyId}.pem`);
      await writeFile(keyFile, authgear.privateKeyPem, { mode: 0o600 });
      return {
        name, dir, csv, ledger, users, serverUrl: authgear.url, env: {},
        args: (url = authgear.url) => [csv, '--target', 'authgear', '--endpoint', url, '--project-id', authgear.projectId, '--admin-key-file', keyFile, '--ledger', ledger, ...COMMON],
        current: async (user) => withoutHost(authgear.readAttributes(ids.get(user)!).picture as string | undefined),
        writes: (user) => authgear.updates.filter((u) => u.userID === ids.get(user)).length,
        answerAfter: (ms) => authgear.setFaults({ latencyMs: ms }),
        close: () => authgear.close(),
      };
    }
  }
}

/** A ledger `remote` in the form `Rig.current` returns. */
export function comparableRemote(remote: string | undefined): string | undefined {
  return withoutHost(remote);
}
