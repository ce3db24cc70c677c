// Exit codes cron can act on. A nightly job where Sam's photo has been missing for a month must not
// page anyone every night, yet a new failure must. A failure is "carried over" when the row failed
// the same way last time on this target with the same input; anything else is new.

/** The fields of a ledger row line that say what the row was and how it failed. */
export interface FailureFacts {
  readonly status: string;
  readonly source?: string;
  readonly sourceSize?: number;
  readonly sourceMtimeMs?: number;
  readonly sourceSha256?: string;
  readonly settings?: string;
  readonly error?: { readonly code: string };
}

/**
 * Whether `now` (a failed line) repeats `previous` (this user's latest line on this target before
 * this run): same code, same source, same settings, same fingerprint as far as both know it.
 */
export function isCarriedOver(previous: FailureFacts | undefined, now: FailureFacts): boolean {
  if (!previous || previous.status !== 'failed' || now.status !== 'failed') return false;
  if (!previous.error || !now.error || previous.error.code !== now.error.code) return false;
  if ((previous.source ?? '') !== (now.source ?? '') || previous.settings !== now.settings) return false;
  if (previous.sourceSize !== now.sourceSize) return false;
  if (previous.sourceMtimeMs !== undefined && now.sourceMtimeMs !== undefined && Math.abs(previous.sourceMtimeMs - now.sourceMtimeMs) >= 1) return false;
  if ((previous.sourceMtimeMs === undefined) !== (now.sourceMtimeMs === undefined)) return false;
  if (previous.sourceSha256 && now.sourceSha256 && previous.sourceSha256 !== now.sourceSha256) return false;
  return true;
}

/** The exit codes, in one place: the README's table is checked against this. */
export const EXIT = {
  /** Every row ok or skipped. */
  ok: 0,
  /** At least one row failed in a way it had not failed before. */
  newFailures: 1,
  /** Usage error: nothing was sent. */
  usage: 2,
  /** A fatal error (or a misconfigured run) stopped a target; the same command resumes. */
  fatal: 3,
  /** Rows failed, but every one failed the same way last time: nothing new to look at. */
  onlyKnownFailures: 4,
  /** SIGINT (Ctrl-C). */
  interrupted: 130,
  /** SIGTERM. */
  terminated: 143,
} as const;

export interface RunOutcome {
  readonly fatal: boolean;
  readonly signal?: 'SIGINT' | 'SIGTERM';
  readonly newFailures: number;
  readonly carriedFailures: number;
}

/**
 * One run's exit code, the worst across targets: an interrupt wins (cron must know the run did not
 * finish), then fatal, then new failures, then failures only carried over.
 */
export function exitCode(outcomes: readonly RunOutcome[]): number {
  const signal = outcomes.find((o) => o.signal)?.signal;
  if (signal) return signal === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted;
  if (outcomes.some((o) => o.fatal)) return EXIT.fatal;
  if (outcomes.some((o) => o.newFailures > 0)) return EXIT.newFailures;
  if (outcomes.some((o) => o.carriedFailures > 0)) return EXIT.onlyKnownFailures;
  return EXIT.ok;
}
