// The one definition of a "carried-over" failure, used by the text summary, the --json summary and
// the exit code (src/exit-codes.ts): the row failed the same way last time on this target with the
// same input. Anything else is new, and new failures are what cron pages on (exit 1).

/** The fields of a ledger row line that say what the row was and how it failed. */
export interface FailureFacts {
  readonly status: string;
  readonly source?: string;
  readonly sourceSize?: number;
  readonly sourceMtimeMs?: number;
  readonly sourceSha256?: string;
  readonly settings?: string;
  /** `unchanged_since_failure`: the pipeline found the input the same (by content when the size
   * or mtime differ) and carried the failure without trying again. */
  readonly reason?: string;
  readonly error?: { readonly code: string };
}

/**
 * Whether `now` (a failed line) repeats `previous` (this user's latest line on this target before
 * this run): same code, same source, same settings, same fingerprint as far as both know it.
 */
export function isCarriedOver(previous: FailureFacts | undefined, now: FailureFacts): boolean {
  if (!previous || previous.status !== 'failed' || now.status !== 'failed') return false;
  if (!previous.error || !now.error || previous.error.code !== now.error.code) return false;
  // The pipeline already compared the input, by content where the fingerprint differed (a photo
  // touched but not changed).
  if (now.reason === 'unchanged_since_failure') return true;
  if ((previous.source ?? '') !== (now.source ?? '') || previous.settings !== now.settings) return false;
  if (previous.sourceSize !== now.sourceSize) return false;
  if (previous.sourceMtimeMs !== undefined && now.sourceMtimeMs !== undefined && Math.abs(previous.sourceMtimeMs - now.sourceMtimeMs) >= 1) return false;
  if ((previous.sourceMtimeMs === undefined) !== (now.sourceMtimeMs === undefined)) return false;
  if (previous.sourceSha256 && now.sourceSha256 && previous.sourceSha256 !== now.sourceSha256) return false;
  return true;
}
