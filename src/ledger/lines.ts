// The two kinds of ledger line. Field names are part of the on-disk format: add fields, never
// rename or repurpose one (old ledgers must keep resuming). Fields are writable because the
// pipeline fills a line in as the row progresses.

/** The first line of every run: what was asked for. */
export interface RunLine {
  type: 'run';
  /** This run's id; every row line of the run repeats it. */
  run: string;
  /** avatar-import's version. */
  version: string;
  /** ISO 8601. */
  started: string;
  /** The options in effect, as the CLI resolved them. Never secrets. */
  options: Readonly<Record<string, unknown>>;
}

/**
 * The last line of a run that ended (not one killed): how it ended. Added in the second wave; a
 * ledger without end lines is as valid as one with them. Compaction writes one, without `exit`
 * and `ended`, for a run whose row lines it drops, so the run's counts survive.
 */
export interface EndLine {
  type: 'end';
  run: string;
  /** ISO 8601. Absent on an end line compaction wrote. */
  ended?: string;
  /** The process's exit code (0, 1, 3, 130 …). Absent on an end line compaction wrote. */
  exit?: number;
  /** Row lines the run wrote, by status. */
  counts: Record<string, number>;
  /** Written by `ledger compact` for a run that had none. */
  compacted?: boolean;
}

/** `removed` (issue 13, `--remove-missing`): a leaver's avatar that the tool had set was taken
 * away: `previous` is what the tool had set, `remote` what the target holds after it (the avatar
 * the user had before the tool, or '' for none). It has no `outputSha256`, so it is never a held
 * line: a user whose latest line is `removed` is new to the next import. */
export type RowStatus = 'ok' | 'skipped' | 'failed' | 'removed';

export interface RowLineError {
  /** A stable code from ROW_CODES (src/errors.ts), or a target's own. */
  code: string;
  message: string;
  /** The failure was transient (retries ran out): the next run tries the row again. */
  retryable?: boolean;
}

/**
 * One row's outcome. The index relies on one rule: a row line with `remote` set says "after this
 * row, the target holds `outputSha256` (of `bytes` bytes) as `remote`". So `ok` lines set all
 * three, a `skipped` line that found the avatar still in place copies them forward, and a line that
 * left the target unknown or untouched leaves `remote` out.
 */
export interface RowLine {
  type: 'row';
  /** ISO 8601, when the row finished. */
  ts: string;
  run: string;
  /** CSV record number (1 = first record after the header). */
  row: number;
  /** Line in the CSV file where the record starts, when it differs from what `row` suggests. */
  line?: number;
  /** The user as the CSV named them (after templating). */
  user: string;
  /** `Target.id`: a row is only "done" for the same target. */
  target: string;
  /** The image cell as given (path or URL). */
  source: string;
  sourceSize?: number;
  sourceMtimeMs?: number;
  sourceSha256?: string;
  /** The normalisation settings (size, quality, crop, background, byte cap …) in a canonical
   * string form chosen by the pipeline: compared for equality only. */
  settings: string;
  outputSha256?: string;
  bytes?: number;
  edge?: number;
  quality?: number;
  status: RowStatus;
  /** Why a row was skipped: `changed_by_user`, `has_own_avatar`, `no_photo`, `dry_run` (an `ok`
   * line of a dry run) …; absent on a skip of an unchanged row. */
  reason?: string;
  error?: RowLineError;
  /** See the rule above: the target's reference to what it holds (`Applied.remote`). */
  remote?: string;
  /** `Applied.stamp`. */
  stamp?: number;
  /** The avatar the user had before this row changed it (`Applied.previous`), for rollback. */
  previous?: string;
  /** `Applied.replaced`: what the target held before, in `remote`'s form, when `previous` names it
   * otherwise (Zulip). */
  replaced?: string;
  /** On a `has_own_avatar` skip (first contact): what the target held, in `Account.current`'s form
   * (an mxc URI, a Zulip avatar_version, an Authgear picture URL, a `dir` file's sha256). It is
   * not `remote`: the tool did not put it there. */
  found?: string;
}

export type LedgerLine = RunLine | RowLine | EndLine;

/**
 * Written (and on disk) before a target is changed: "this run is about to make the target hold
 * `outputSha256` (of `bytes` bytes) as `remote`". Added in the second wave (issue 11). An intent
 * is *pending* while no row line for (target, user) that says what the target holds (`remote`
 * set) follows it: the process died between the write and its row line (kill -9), or the row
 * failed with the write's fate unknown (a Ctrl-C that aborted a request the server had applied). The
 * next run then recognises the target's value as the tool's own write when it equals `remote`
 * (instead of "the user changed it"), and may reuse an upload it names. It carries the row's
 * source fields so that the recognised write is judged like any held line (same source: skip).
 * Not a `LedgerLine`: the history tools (status, failed, runs) do not see it; the index, compact
 * and merge keep pending ones.
 */
export type IntentLine = Omit<RowLine, 'type' | 'status' | 'reason' | 'error' | 'stamp' | 'previous' | 'replaced' | 'remote'> & {
  type: 'intent';
  outputSha256: string;
  bytes: number;
  /** The reference the target is about to hold; absent when it cannot be known before the write
   * (then the intent only records that a write was under way). */
  remote?: string;
  /** A leaver's removal (`--remove-missing`), not an import's write: the target is about to hold
   * `remote` (the avatar the user had before the tool, '' for none) instead of the tool's avatar
   * (`outputSha256`, `bytes`). An import never takes it for its own write. */
  removes?: true;
  /** A rollback's write (`avatar-import rollback`): what the target will report as `current` once
   * the avatar is set back ('' for none). A rollback run again after a kill between the write and
   * its row line finds the target showing it, and records the user as restored (`recovered`)
   * instead of "changed since". `remote` is only set (for an import to recognise the write as its
   * own) when the restored avatar is one the tool had set, whose line's fields the intent carries. */
  restores?: string;
};

/** A row line that says what the target holds: usable as the target's `Prior`. */
export type HeldRowLine = RowLine & { remote: string; outputSha256: string; bytes: number };

/** A parsed JSON value that is a row line the index can use (a key to file it under). */
export function isRowLine(value: unknown): value is RowLine {
  if (typeof value !== 'object' || value === null) return false;
  const line = value as Record<string, unknown>;
  return line.type === 'row' && typeof line.target === 'string' && typeof line.user === 'string';
}

export function isIntentLine(value: unknown): value is IntentLine {
  if (typeof value !== 'object' || value === null) return false;
  const line = value as Record<string, unknown>;
  return line.type === 'intent' && typeof line.target === 'string' && typeof line.user === 'string' &&
    typeof line.outputSha256 === 'string' && typeof line.bytes === 'number';
}

export function isRunLine(value: unknown): value is RunLine {
  return typeof value === 'object' && value !== null && (value as Record<string, unknown>).type === 'run';
}

export function isEndLine(value: unknown): value is EndLine {
  if (typeof value !== 'object' || value === null) return false;
  const line = value as Record<string, unknown>;
  return line.type === 'end' && typeof line.run === 'string' && typeof line.counts === 'object' && line.counts !== null;
}

/** A line about a CSV row rather than a user (no user, or a user's second row): a *row problem*,
 * which belongs to one run's CSV and to no user's history. */
export function isProblem(line: RowLine | undefined): boolean {
  return line !== undefined && (line.user === '' || line.error?.code === 'duplicate_user');
}

/** Whether the line says what the target holds (the rule on RowLine) completely enough to use. */
export function isHeldRowLine(line: RowLine): line is HeldRowLine {
  return typeof line.remote === 'string' && typeof line.outputSha256 === 'string' && typeof line.bytes === 'number';
}
