// Every remote target paces its calls the same way (DESIGN.md: one pacer per target); this is the
// one place that turns the parsed flags and the test hooks into a Pacer.
import type { Logger } from '../log.js';
import type { Clock } from '../net/clock.js';
import { Pacer, type PacerOptions } from '../net/pacer.js';

/** What tests and benchmarks may change about pacing; the CLI uses the defaults. */
export interface PacingDeps {
  readonly log: Logger;
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly pacing?: Pick<PacerOptions, 'minBackoffMs' | 'maxBackoffMs' | 'maxRateLimitWaits' | 'maxPauseMs'>;
}

export function targetPacer(
  name: string,
  limits: { readonly concurrency: number; readonly retries: number; readonly maxRate?: number; readonly requestTimeoutMs?: number },
  deps: PacingDeps,
  signal?: AbortSignal,
): Pacer {
  return new Pacer({
    name,
    concurrency: limits.concurrency,
    retries: limits.retries,
    log: deps.log,
    ...(signal ? { signal } : {}),
    ...(limits.maxRate ? { maxRate: limits.maxRate } : {}),
    ...(limits.requestTimeoutMs ? { requestTimeoutMs: limits.requestTimeoutMs } : {}),
    ...(deps.clock ? { clock: deps.clock } : {}),
    ...(deps.random ? { random: deps.random } : {}),
    ...deps.pacing,
  });
}
