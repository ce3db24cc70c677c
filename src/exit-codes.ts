// Exit codes cron can act on: the one table, used by the CLI, the text summary, the --json summary
// and the ledger's end line (the README's table says the same). A nightly job where Sam's photo has
// been missing for a month must not page anyone every night, yet a new failure must; an interrupted
// run must not look like a failed one.

export const EXIT = {
  /** Every row ok or skipped. */
  ok: 0,
  /** At least one row failed in a way it had not failed before (new, other code, changed input). */
  newFailures: 1,
  /** Usage error: nothing was sent. */
  usage: 2,
  /** A fatal error (or a run halted as misconfigured) stopped a target; the same command resumes. */
  fatal: 3,
  /** Rows failed, but every one failed the same way last time: nothing new to look at. */
  onlyKnownFailures: 4,
  /** SIGINT (Ctrl-C): 128 + 2. */
  interrupted: 130,
  /** SIGTERM (a scheduler stopping the job): 128 + 15. */
  terminated: 143,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** How one target's part of a run ended. */
export interface RunOutcome {
  readonly fatal: boolean;
  readonly signal?: 'SIGINT' | 'SIGTERM' | undefined;
  readonly newFailures: number;
  readonly carriedFailures: number;
}

/**
 * One run's exit code, the worst across targets: an interrupt wins (cron must know the run did not
 * finish), then fatal, then new failures, then failures only carried over.
 */
export function exitCode(outcomes: readonly RunOutcome[]): ExitCode {
  const signal = outcomes.find((o) => o.signal)?.signal;
  if (signal) return signal === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted;
  if (outcomes.some((o) => o.fatal)) return EXIT.fatal;
  if (outcomes.some((o) => o.newFailures > 0)) return EXIT.newFailures;
  if (outcomes.some((o) => o.carriedFailures > 0)) return EXIT.onlyKnownFailures;
  return EXIT.ok;
}
