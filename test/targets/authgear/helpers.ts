// An Authgear target wired to a fake Authgear, built the way the CLI builds it (flags → config,
// the key from a `<key id>.pem` file), with a captured log, for tests that drive the target's
// methods directly (the pipeline is not involved).
import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type Logger } from '../../../src/log.js';
import { readConfig, type AuthgearConfig } from '../../../src/targets/authgear/options.js';
import { authgearTarget } from '../../../src/targets/authgear/index.js';
import { inputFor } from '../../support/targets.js';
import { AuthgearTarget, type AuthgearDeps } from '../../../src/targets/authgear/target.js';
import type { Avatar, TargetLimits } from '../../../src/targets/target.js';
import { FakeAuthgear, type AuthgearOptions } from '../../../testkit/servers/authgear.js';

export interface Setup {
  authgear: FakeAuthgear;
  target: AuthgearTarget;
  log: Logger;
  /** Every line written through the logger (verbose). */
  lines: string[];
  keyFile: string;
  /** Opens the target; resolves to the limits it announced. */
  open(): Promise<TargetLimits>;
}

/** Writes a PEM where the portal would save it: `<dir>/<key id>.pem`. */
export async function keyFile(pem: string, keyId: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'authgear-key-'));
  const file = join(dir, `${keyId}.pem`);
  await writeFile(file, pem, { mode: 0o600 });
  return file;
}

export async function setup(
  options: AuthgearOptions = {},
  overrides: {
    argv?: Record<string, unknown>;
    config?: Partial<AuthgearConfig>;
    deps?: Partial<AuthgearDeps>;
    /** Another key than the one the fake knows (a wrong or revoked key). */
    key?: (authgear: FakeAuthgear) => { pem: string; keyId: string };
  } = {},
): Promise<Setup> {
  const authgear = await FakeAuthgear.start(options);
  const lines: string[] = [];
  const log = createLogger({ verbose: true, write: (line) => lines.push(line) });
  const key = overrides.key?.(authgear) ?? { pem: authgear.privateKeyPem, keyId: authgear.keyId };
  const file = await keyFile(key.pem, key.keyId);
  const input = inputFor(authgearTarget, { endpoint: authgear.url, 'project-id': authgear.projectId, 'admin-key-file': file, retries: 3, ...overrides.argv }, { runId: 'run-test-1', log });
  const config = await readConfig(input.options, input.context);
  const target = new AuthgearTarget({ ...config, ...overrides.config }, { log, pacing: { minBackoffMs: 1, maxBackoffMs: 10, maxPauseMs: 10 }, ...overrides.deps });
  return { authgear, target, log, lines, keyFile: file, open: () => target.open(new AbortController().signal) };
}

/** A stand-in for a normalised avatar: Authgear, like the fake, does not look inside at upload. */
export function avatar(seed: string): Avatar {
  const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from(seed), Buffer.from([0xff, 0xd9])]);
  return { jpeg, sha256: createHash('sha256').update(jpeg).digest('hex'), edge: 256, quality: 85 };
}

/** Resolve then apply, as the pipeline does for one row. */
export async function importRow(target: AuthgearTarget, user: string, image: Avatar): Promise<ReturnType<AuthgearTarget['apply']> extends Promise<infer T> ? T : never> {
  const account = await target.resolve(user, undefined);
  return target.apply(account, image);
}

/** Settle every promise and report each outcome: the code of a failure, or 'ok'. */
export async function outcomes<T>(work: Promise<T>[]): Promise<string[]> {
  const settled = await Promise.allSettled(work);
  return settled.map((s) => (s.status === 'fulfilled' ? 'ok' : ((s.reason as { code?: string }).code ?? String(s.reason))));
}

/** Upload POSTs per presigned path: a path seen twice means a URL was used twice. */
export function uploadPaths(authgear: FakeAuthgear): string[] {
  return authgear.server.requests.filter((r) => r.route === 'image_upload').map((r) => r.path);
}

/** A wall clock the test moves (epoch ms). */
export function wallClock(start = Date.UTC(2026, 7, 22, 10, 0, 0)): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}
