// A Matrix target wired to a fake Synapse, with a captured log, for tests that drive the target's
// methods directly (the pipeline is not involved).
import { createHash } from 'node:crypto';
import { createLogger, type Logger } from '../../../src/log.js';
import type { MatrixConfig } from '../../../src/targets/matrix/options.js';
import { MatrixTarget, type MatrixDeps } from '../../../src/targets/matrix/target.js';
import type { Avatar, TargetLimits } from '../../../src/targets/target.js';
import { FakeSynapse, type SynapseOptions } from '../../../testkit/servers/synapse.js';

export interface Setup {
  synapse: FakeSynapse;
  target: MatrixTarget;
  log: Logger;
  /** Every line written through the logger (verbose). */
  lines: string[];
  /** Opens the target; resolves to the limits it announced. */
  open(): Promise<TargetLimits>;
}

export async function setup(
  options: SynapseOptions = {},
  overrides: { config?: Partial<MatrixConfig>; deps?: Partial<MatrixDeps>; token?: (synapse: FakeSynapse) => string } = {},
): Promise<Setup> {
  const synapse = await FakeSynapse.start(options);
  const lines: string[] = [];
  const log = createLogger({ verbose: true, write: (line) => lines.push(line) });
  const token = overrides.token?.(synapse) ?? synapse.adminToken;
  log.addSecret(token);
  const target = new MatrixTarget(
    { homeserver: synapse.url, token, concurrency: 4, retries: 3, ...overrides.config },
    { log, pacing: { minBackoffMs: 1, maxBackoffMs: 10 }, ...overrides.deps },
  );
  return { synapse, target, log, lines, open: () => target.open(new AbortController().signal) };
}

/** A stand-in for a normalised avatar: the fake Synapse, like the real one, does not look inside. */
export function avatar(seed: string): Avatar {
  const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from(seed), Buffer.from([0xff, 0xd9])]);
  return { jpeg, sha256: createHash('sha256').update(jpeg).digest('hex'), edge: 256, quality: 85 };
}

/** Resolve then apply, as the pipeline does for one row. */
export async function importRow(target: MatrixTarget, user: string, image: Avatar) {
  const account = await target.resolve(user, undefined);
  return target.apply(account, image);
}

/** Settle every promise and report each outcome: the code of a failure, or 'ok'. */
export async function outcomes<T>(work: Promise<T>[]): Promise<string[]> {
  const settled = await Promise.allSettled(work);
  return settled.map((s) => (s.status === 'fulfilled' ? 'ok' : ((s.reason as { code?: string }).code ?? String(s.reason))));
}
