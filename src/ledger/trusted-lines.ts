import { isIntentLine, isProblem, isRowLine, type IntentLine, type LedgerLine } from './lines.js';
import { fingerprint } from '../util/fingerprint.js';
import { Numbering } from '../util/numbering.js';

// What compaction may take on trust. A compaction judges every line of the ledger (~1 s of a
// 100 000-user compacting night, judge-lines.ts), though nearly all of them are lines this tool
// wrote itself and whose fate needs no judging: an unchanged user's skip line is kept while it is
// the user's latest or held line, and dropped once it is not; an import's `ok` line is kept while
// its run is among the last `--keep-runs`. So the lines a run writes, and the file a compaction
// writes, are remembered as trusted ranges beside the ledger (trusted-file.ts), each line of a
// range being one of:
// - plain: a row line with its run, target, user and status that is neither a change nor a row
//   problem, or an intent line with its key, output hash and size. Judged by its offset alone:
//   kept when the index holds it (the latest or held row line of its key, its pending intent).
// - a change: such a row line but `ok` or `removed` (not a dry run), listed with its run, its
//   key's fingerprint and whether it holds a remote, which is all compaction asks of it.
// - special: anything else (run and end lines, row problems, lines of other shapes), listed, and
//   judged as any line is.
// The next compaction judges only the special lines and what no range covers (lines of an older
// version, of a killed run, of a hand edit: anything not written through here since). A range is
// only an optimisation, dropped whenever the ledger no longer matches what it was written for.

/** More listed lines than this in one range (an import's `ok` lines, at 1 M users): not kept as
 * a range (its lines are judged), so that memory stays flat. */
export const MAX_LISTED = 1 << 17;
/** Ranges kept at most; the oldest go first (a range lost only means its lines are judged). */
export const MAX_RANGES = 64;

/** The change lines of a range (see above), by offset ascending. */
export interface ChangeLines {
  readonly offsets: Float64Array;
  /** Index into `runs` of each line's run. */
  readonly run: Uint32Array;
  readonly runs: readonly string[];
  /** The fingerprint of each line's (target, user) (util/fingerprint.ts). */
  readonly hi: Uint32Array;
  readonly lo: Uint32Array;
  /** 1 where the line's `remote` is set. */
  readonly remote: Uint8Array;
}

/** A stretch of the ledger this tool wrote: [start, end), whole lines. */
export interface TrustedRange {
  readonly start: number;
  readonly end: number;
  /** Offsets of the special lines in it, ascending. */
  readonly specials: Float64Array;
  readonly changes: ChangeLines;
  /** For each target with row lines in the range, the run of the last one (compaction keeps a
   * target's row problems of its latest run: it must know that run without judging every row). */
  readonly latestRuns: ReadonlyArray<readonly [target: string, run: string]>;
}

export const PLAIN = 0;
export const CHANGE = 1;
export const SPECIAL = 2;

/** What compaction would find `line` to be, written as JSON.stringify writes it (see above). */
export function lineTrust(line: LedgerLine | IntentLine): typeof PLAIN | typeof CHANGE | typeof SPECIAL {
  if (line.type === 'row') {
    if (!isRowLine(line) || typeof line.run !== 'string' || typeof line.status !== 'string' || isProblem(line)) return SPECIAL;
    return (line.status === 'ok' || line.status === 'removed') && line.reason !== 'dry_run' ? CHANGE : PLAIN;
  }
  return line.type === 'intent' && isIntentLine(line) && Number.isFinite(line.bytes) ? PLAIN : SPECIAL;
}

/** Builds the lists of a range, a line at a time in file order; undefined once too long. */
export class RangeLists {
  private specials = new Float64Array(64);
  private specialCount = 0;
  private offsets = new Float64Array(64);
  private run = new Uint32Array(64);
  private hi = new Uint32Array(64);
  private lo = new Uint32Array(64);
  private remote = new Uint8Array(64);
  private changeCount = 0;
  private readonly runs = new Numbering<string>();
  private full = false;

  special(offset: number): void {
    if (this.listed()) {
      if (this.specialCount === this.specials.length) this.specials = grown(this.specials);
      this.specials[this.specialCount++] = offset;
    }
  }

  change(offset: number, run: string, hi: number, lo: number, remote: boolean): void {
    if (!this.listed()) return;
    if (this.changeCount === this.offsets.length) {
      [this.offsets, this.run, this.hi, this.lo, this.remote] = [grown(this.offsets), grown(this.run), grown(this.hi), grown(this.lo), grown(this.remote)];
    }
    const at = this.changeCount++;
    this.offsets[at] = offset;
    this.run[at] = this.runs.of(run);
    this.hi[at] = hi;
    this.lo[at] = lo;
    this.remote[at] = remote ? 1 : 0;
  }

  /** The range from `start` to `end`, unless its lists outgrew MAX_LISTED. */
  range(start: number, end: number, latestRuns: ReadonlyArray<readonly [string, string]>): TrustedRange | undefined {
    if (this.full) return undefined;
    const n = this.changeCount;
    const changes: ChangeLines = { offsets: this.offsets.slice(0, n), run: this.run.slice(0, n), runs: [...this.runs.values], hi: this.hi.slice(0, n), lo: this.lo.slice(0, n), remote: this.remote.slice(0, n) };
    return { start, end, specials: this.specials.slice(0, this.specialCount), changes, latestRuns };
  }

  private listed(): boolean {
    if (this.full) return false;
    if (this.specialCount + this.changeCount < MAX_LISTED) return true;
    // Freed at once: an import of a million users would otherwise hold them all.
    this.full = true;
    this.specials = new Float64Array(0);
    [this.offsets, this.hi, this.lo] = [new Float64Array(0), new Uint32Array(0), new Uint32Array(0)];
    [this.run, this.remote] = [new Uint32Array(0), new Uint8Array(0)];
    return false;
  }
}

/**
 * The lines one process appends to the ledger, as it writes them: a trusted range at the end if
 * every row line belongs to a run whose run and end lines it also wrote (a run's census then
 * comes from its end line, never from counting rows) and its lists stay short.
 */
export class OwnLines {
  private readonly lists = new RangeLists();
  private readonly started = new Set<string>();
  private readonly ended = new Set<string>();
  private readonly latestRuns = new Map<string, string>();
  private readonly scratch = new Uint32Array(2);
  private broken = false;

  constructor(private readonly start: number) {}

  /** A line was written at `offset` (lines come in file order): its type, run, key, whether it
   * holds a remote, and what compaction would find it to be (lineTrust). */
  note(offset: number, type: string, run: unknown, target: string | undefined, user: string | undefined, remote: boolean, trust: number): void {
    if (this.broken) return;
    if (type === 'row') {
      if (typeof run !== 'string' || !this.started.has(run) || this.ended.has(run)) {
        this.broken = true;
        return;
      }
      this.latestRuns.set(target!, run);
    } else if (type === 'run' && typeof run === 'string') {
      this.started.add(run);
    } else if (type === 'end' && typeof run === 'string') {
      this.ended.add(run);
    }
    if (trust === SPECIAL) {
      this.lists.special(offset);
    } else if (trust === CHANGE) {
      fingerprint(this.scratch, target!, user!);
      this.lists.change(offset, run as string, this.scratch[0]!, this.scratch[1]!, remote);
    }
  }

  /** The range, if it can be trusted, of what was written up to `end`. */
  range(end: number): TrustedRange | undefined {
    if (this.broken || end <= this.start || [...this.started].some((run) => !this.ended.has(run))) return undefined;
    return this.lists.range(this.start, end, [...this.latestRuns]);
  }
}

/** `ranges` (ascending, not overlapping) kept within the limits: the newest. */
export function withinLimits(ranges: readonly TrustedRange[]): TrustedRange[] {
  return ranges.slice(Math.max(0, ranges.length - MAX_RANGES));
}

function grown<T extends Float64Array | Uint32Array | Uint8Array>(array: T): T {
  const bigger = new (array.constructor as new (length: number) => T)(array.length * 2);
  bigger.set(array);
  return bigger;
}
