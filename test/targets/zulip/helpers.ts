// A Zulip target wired to a fake Zulip, with a captured log, for tests that drive the target's
// methods directly (the pipeline is not involved).
import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { createLogger, type Logger } from '../../../src/log.js';
import type { KeyMap, UserKey } from '../../../src/targets/zulip/credentials.js';
import type { KeyMode, ZulipConfig } from '../../../src/targets/zulip/options.js';
import { ZulipTarget, type ZulipDeps } from '../../../src/targets/zulip/target.js';
import type { Avatar } from '../../../src/targets/target.js';
import { FakeZulip, type ZulipOptions } from '../../../testkit/servers/zulip.js';

export const JWT_SECRET = 'jwt-secret-for-tests-0123456789abcdef';

export interface Setup {
  zulip: FakeZulip;
  log: Logger;
  /** Every line written through the logger (verbose). */
  lines: string[];
  /** A target for this server; build it after adding users when the keys come from them. */
  target(mode: KeyMode, overrides?: { config?: Partial<ZulipConfig>; deps?: Partial<ZulipDeps> }): ZulipTarget;
}

export async function setup(options: ZulipOptions = {}): Promise<Setup> {
  const zulip = await FakeZulip.start(options);
  const lines: string[] = [];
  const log = createLogger({ verbose: true, write: (line) => lines.push(line) });
  return {
    zulip,
    log,
    lines,
    target(mode, overrides = {}) {
      const admin = overrides.config?.admin ?? { email: zulip.admin.email, key: zulip.admin.apiKey };
      log.addSecret(admin.key);
      return new ZulipTarget(
        { site: zulip.url, admin, mode, concurrency: 4, retries: 3, ...overrides.config },
        { log, pacing: { minBackoffMs: 1, maxBackoffMs: 10 }, ...overrides.deps },
      );
    },
  };
}

/** --credentials as read from a file: each email with the key given (its own by default). */
export function credentials(zulip: FakeZulip, emails: string[], keyOf: (email: string) => string = (e) => zulip.keyOf(e)): KeyMode {
  const keys = new Map<string, UserKey>();
  for (const email of emails) keys.set(email.toLowerCase(), { email, key: keyOf(email), from: 'test' });
  return { kind: 'credentials', keys: keys as KeyMap };
}

/** --jwt-key-file with a fresh key cache in a temp folder (or the one given). */
export async function jwt(cachePath?: string, secret = JWT_SECRET): Promise<KeyMode & { kind: 'jwt' }> {
  return { kind: 'jwt', secret, cachePath: cachePath ?? join(await mkdtemp(join(tmpdir(), 'zulip-keys-')), 'keys.jsonl') };
}

/** A small real JPEG (the fake Zulip decodes what it is sent, as the real one does). */
export async function avatar(seed: number): Promise<Avatar> {
  const jpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: (seed * 40) & 255, g: (seed * 90) & 255, b: 120 } } }).jpeg().toBuffer();
  return raw(jpeg);
}

/** Bytes as they are, whatever they are. */
export function raw(jpeg: Buffer): Avatar {
  return { jpeg, sha256: createHash('sha256').update(jpeg).digest('hex'), edge: 64, quality: 85 };
}

/** Resolve then apply, as the pipeline does for one row. */
export async function importRow(target: ZulipTarget, user: string, image: Avatar) {
  const account = await target.resolve(user, undefined);
  return target.apply(account, image);
}

/** Settle every promise and report each outcome: the code of a failure, or 'ok'. Start the work
 * in the call itself, with its inputs ready (`outcomes([importRow(t, a, one), importRow(t, b, two)])`,
 * not `…, await avatar(2))`): a row that fails while a later argument is still being awaited is
 * a rejection nothing handles yet, and Node fails the test with it whatever is asserted here. */
export async function outcomes<T>(work: Promise<T>[]): Promise<string[]> {
  const settled = await Promise.allSettled(work);
  return settled.map((s) => (s.status === 'fulfilled' ? 'ok' : ((s.reason as { code?: string }).code ?? String(s.reason))));
}

export const signal = () => new AbortController().signal;
