import type { FileHandle } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';

import type { EndLine } from '../lines.js';
import { OffsetIndex, type KeptLines } from '../offset-index.js';
import { RangeLists, type TrustedRange } from '../trusted-lines.js';
import { Uint32Column } from '../../util/columns.js';
import { fingerprint } from '../../util/fingerprint.js';
import { Numbering } from '../../util/numbering.js';
import { workerEntry } from '../../util/worker-entry.js';
import type { AtomicFile } from './atomic-file.js';
import { CHANGE, END, INDEXED, INTENT, INTENT_KEY, judgeStretch, KIND, MAX_RUNS, NEWLINE, PROBLEM, Reader, REMOTE, ROW, RUN, RUN_SHIFT, UNKNOWN, DECODE, PENDING, type ReadAt, type Stretch } from './judge-lines.js';
import { RunCensus } from './runs.js';

// Compaction of a ledger whose index is at hand: the run that closes the ledger has it in memory
// (latest, held and pending-intent offsets of every user). It keeps exactly the lines the
// line-by-line compaction (compact.ts, which JSON.parses every line twice and builds that index
// again) keeps, byte for byte, but reads lines with a walk over their bytes (line-facts.ts) and
// copies the kept ones as bytes, in two passes: one for what must be known before a line can be
// judged (the runs, which ones ended and their counts, each target's latest run), one that copies.
// It also indexes the new file as it writes it (each kept line's new offset is known), so the
// next run reads that index instead of scanning the new file.
//
// It gives up (returns undefined, and the caller compacts line by line) rather than guess: when
// the index does not describe this file (an offset that is not the start of a line of its kind), or
// when a line is not JSON but the index's own scan (scan-line.ts) would have taken it for one, so
// that the index and JSON.parse could disagree about it.
//
// Pass 1 is most of the cost (~1 s for the 400 000 lines of a 100 000-user ledger on its
// compacting night), and the machine's other core is idle once the run is over: a ledger with at
// least SPLIT_BYTES of work to judge (see splitPoint) is judged in two halves at once, the second
// by a worker thread (judge-lines-worker.ts), and the halves' findings joined in order, as one
// walk would have found them. A worker that cannot start or fails leaves its half to the main thread.

const CHUNK = 4 << 20;
/** Below this, a second thread costs about what it saves (its start, ~40 ms). */
const SPLIT_BYTES = 64 << 20;

/** How pass 1 may split the file (tests make it split small files, in this thread or not). */
export interface SplitOptions {
  /** Files with at least this many bytes' worth to judge (see splitPoint) are judged in two halves. */
  readonly bytes: number;
  /** The second half in a worker thread (else in this one, after the first). */
  readonly worker: boolean;
}

const DEFAULT_SPLIT: SplitOptions = { bytes: SPLIT_BYTES, worker: true };

export interface IndexedRewrite {
  readonly lines: number;
  readonly runs: number;
  /** Row lines kept. */
  readonly rows: number;
  /** The new file's index: what a scan of it would build. */
  readonly index: OffsetIndex;
  readonly judgedBy: 'main' | 'main+worker';
  /** The new file as a trusted range, for the next compaction (none when its special lines are
   * too many to list). */
  readonly trusted?: TrustedRange;
}

/** Everything pass 1 learns, of the whole file: the stretches' findings joined in order. */
class Findings {
  lines = 0;
  info = new Uint32Column();
  keyHi = new Uint32Column();
  keyLo = new Uint32Column();
  readonly census = new RunCensus();
  readonly runs = new Numbering<unknown>();
  readonly runOrder: unknown[] = [];
  readonly ended = new Set<unknown>();
  readonly latestRun = new Map<string, number>();
  readonly problemTargets = new Map<number, string>();
  /** Fingerprints of the users whose latest row line is a row problem (see currentOutcomes). */
  readonly problemLatest = new Set<string>();
  /** A worker thread judged the second half. */
  worker = false;

  /** Adds the next stretch's findings; false when there are too many runs to number. */
  join(stretch: Stretch, index: OffsetIndex): boolean {
    const base = this.lines;
    const numbers = stretch.runs.map((run) => this.runs.of(run));
    if (numbers.some((n) => n >= MAX_RUNS)) return false;
    const info = new Uint32Column(stretch.info);
    const keyHi = new Uint32Column(stretch.keyHi);
    const keyLo = new Uint32Column(stretch.keyLo);
    if (base === 0 && numbers.every((n, i) => n === i)) {
      // The first stretch numbers lines and runs as the whole file does: its columns are ours.
      [this.info, this.keyHi, this.keyLo] = [info, keyHi, keyLo];
    } else {
      for (let i = 0; i < stretch.lines; i++) {
        const flags = info.get(i);
        const kind = flags & KIND;
        const run = kind === ROW || kind === RUN ? numbers[flags >>> RUN_SHIFT]! : 0;
        this.info.set(base + i, (flags & ((1 << RUN_SHIFT) - 1)) | (run << RUN_SHIFT));
        this.keyHi.set(base + i, keyHi.get(i));
        this.keyLo.set(base + i, keyLo.get(i));
      }
    }
    for (const line of stretch.marks) {
      this.census.add({ line, offset: 0, bytes: 0 });
      if (line.type === 'run') this.runOrder.push(line.run);
      else this.ended.add(line.run);
    }
    for (const [run, byStatus] of stretch.counts) this.census.addRows(stretch.runs[run] as string, stretch.targets.get(run)!, byStatus);
    for (const [target, run] of stretch.latestRun) this.latestRun.set(target, numbers[run]!);
    for (const [at, target] of stretch.problemTargets) this.problemTargets.set(base + at, target);
    for (const { target, user, offset, hi, lo } of stretch.outcomeProblems) {
      if (index.find(target, user)?.latest === offset) this.problemLatest.add(`${hi}:${lo}`);
    }
    this.lines += stretch.lines;
    return true;
  }
}

export async function rewriteFromIndex(handle: FileHandle, size: number, out: AtomicFile, keepRuns: number, index: OffsetIndex, trusted: readonly TrustedRange[] = [], chunkBytes = CHUNK, split = DEFAULT_SPLIT): Promise<IndexedRewrite | undefined> {
  const read: ReadAt = (into, at, length, position) => handle.read(into, at, length, position).then(({ bytesRead }) => bytesRead);
  const reader = new Reader(read, 0, size, chunkBytes);

  // Pass 1 judges every line once: what it is, the runs (which are recent, which ended, counts of
  // those that did not), each target's latest run, and the users whose latest line is a row
  // problem. The index's offsets must each be the start of a line of their kind.
  let found = await judgeFile(handle, read, size, chunkBytes, index, split, trusted);
  // A user whose latest line is a row problem keeps their latest line that is not (see
  // currentOutcomes), which may be a line taken on trust: judged for what it is, then, as all are.
  if (found !== undefined && found.problemLatest.size > 0 && trusted.length > 0) found = await judgeFile(handle, read, size, chunkBytes, index, split, []);
  if (found === undefined) return undefined;
  const { info, keyHi, keyLo, runOrder, ended, latestRun, problemTargets, problemLatest, lines } = found;
  const runs = found.runs;
  const runValues = runs.values;
  const recent = new Set(runOrder.slice(Math.max(0, runOrder.length - keepRuns)).map((run) => runs.of(run)));
  const counts = new Map(found.census.summaries().map((run) => [run.run, run.counts]));
  const outcomeKept = problemLatest.size === 0 ? new Set<number>() : await currentOutcomes(reader, problemLatest, keyHi, keyLo);
  if (outcomeKept === undefined) return undefined;



  // Pass 2: copy what is kept, as bytes, and index the new file.
  const fresh = new OffsetIndex();
  const lists = new RangeLists();
  let rows = 0;
  let at = 0;
  for await (const chunk of reader.chunks(false)) {
    const bytes = chunk.bytes;
    // Kept lines that follow one another are copied together (one copy, not one a line: ~0.1 s
    // of a 200 000-line rewrite): [copyFrom, copyTo) of this chunk, `copied` lines, not yet
    // appended, so that a line's place in the new file is out.bytes + what is pending.
    let copyFrom = 0;
    let copyTo = 0;
    let copied = 0;
    const flush = (): void => {
      if (copied > 0) out.append(bytes.subarray(copyFrom, copyTo), copied);
      copied = 0;
    };
    for (let start = 0; start < chunk.length; at++) {
      const end = bytes.indexOf(NEWLINE, start);
      const flags = info.get(at);
      const kind = flags & KIND;
      const run = flags >>> RUN_SHIFT;
      let keep: boolean;
      if (kind === ROW) {
        keep =
          (flags & INDEXED) !== 0 ||
          ((flags & PROBLEM) !== 0 ? latestRun.get(problemTargets.get(at)!) === run : outcomeKept.has(at)) ||
          ((flags & CHANGE) !== 0 && recent.has(run));
      } else {
        keep = kind === RUN || kind === END || kind === UNKNOWN || (kind === INTENT && (flags & PENDING) !== 0);
      }
      if (keep) {
        if (copied > 0 && (copyTo !== start || (flags & DECODE) !== 0)) flush();
        const where = out.bytes + (copied > 0 ? copyTo - copyFrom : 0);
        if ((flags & DECODE) !== 0) {
          out.appendLine(bytes.toString('utf8', start, end));
        } else {
          if (copied === 0) copyFrom = start;
          copyTo = end + 1;
          copied++;
        }
        // What the next compaction may take on trust in the new file (trusted-lines.ts).
        if (kind === ROW && (flags & (PROBLEM | DECODE)) === 0) {
          if ((flags & CHANGE) === 0) {
            // plain
          } else if (typeof runValues[run] === 'string') lists.change(where, runValues[run] as string, keyHi.get(at), keyLo.get(at), (flags & REMOTE) !== 0);
          else lists.special(where);
        } else if ((flags & (KIND | PENDING | INTENT_KEY | DECODE)) !== (INTENT | PENDING | INTENT_KEY)) {
          lists.special(where);
        }
        if (kind === ROW) {
          fresh.recordAt(keyHi.get(at), keyLo.get(at), where, (flags & REMOTE) !== 0);
          rows++;
        } else if ((flags & INTENT_KEY) !== 0) {
          fresh.recordIntentAt(keyHi.get(at), keyLo.get(at), where);
        } else if (kind === RUN && !ended.has(runValues[run])) {
          const value = runValues[run] as string;
          const line: EndLine = { type: 'end', run: value, counts: { ...counts.get(value) }, compacted: true };
          flush();
          lists.special(out.bytes);
          out.appendLine(JSON.stringify(line));
          ended.add(value);
        }
      }
      start = end + 1;
    }
    flush();
    await out.drain();
  }
  if (at !== lines) return undefined; // the file changed under us
  // Each target's last row line is its key's latest, kept, so its latest run is the same in the
  // new file (a run that is not a string cannot be written in the index file: no range, then).
  const latestRuns = [...latestRun].map(([target, run]) => [target, runValues[run]] as const);
  const trustedOut = out.bytes === 0 || latestRuns.some(([, run]) => typeof run !== 'string') ? undefined : lists.range(0, out.bytes, latestRuns as [string, string][]);
  return { lines, runs: runOrder.length, rows, index: fresh, judgedBy: found.worker ? 'main+worker' : 'main', ...(trustedOut && { trusted: trustedOut }) };
}

/**
 * For users whose latest row line is a row problem (a duplicate in the CSV), the latest line that
 * is not: what `status` reports for them, so compaction keeps it (by line number; its user's
 * fingerprint goes to `keyHi`/`keyLo`). Keyed by fingerprint, as Outcomes is.
 */
async function currentOutcomes(reader: Reader, users: ReadonlySet<string>, keyHi: Uint32Column, keyLo: Uint32Column): Promise<Set<number> | undefined> {
  const latest = new Map<string, number>();
  const scratch = new Uint32Array(2);
  let at = 0;
  const done = await reader.each((line) => {
    if (line.kind === ROW && !line.outcomesProblem) {
      fingerprint(scratch, line.target, line.user);
      const key = `${scratch[0]}:${scratch[1]}`;
      if (users.has(key)) {
        latest.set(key, at);
        keyHi.set(at, scratch[0]!);
        keyLo.set(at, scratch[1]!);
      }
    }
    at++;
    return true;
  });
  return done ? new Set(latest.values()) : undefined;
}

/**
 * Pass 1 over the whole file: in two halves at once when there is enough to judge (see
 * SPLIT_BYTES), cut where each half has about as much work (lines taken on trust cost little).
 */
async function judgeFile(handle: FileHandle, read: ReadAt, size: number, chunkBytes: number, index: OffsetIndex, split: SplitOptions, trusted: readonly TrustedRange[]): Promise<Findings | undefined> {
  let kept = index.keptLines();
  if (kept === undefined) {
    // Too big to pack (see keptLines): every line is judged, none taken on trust.
    const { rows, intents } = index.keptOffsets();
    kept = { rows, rowHi: new Uint32Array(rows.length), rowLo: new Uint32Array(rows.length), rowHeld: new Uint8Array(rows.length), intents, intentHi: new Uint32Array(intents.length), intentLo: new Uint32Array(intents.length) };
    trusted = [];
  }
  const point = splitPoint(size, trusted, split.bytes);
  const mid = point === undefined ? size : await lineStartAfter(read, Math.floor(point), size);
  const r = firstAtLeast(kept.rows, mid);
  const n = firstAtLeast(kept.intents, mid);
  const second = mid < size && split.worker ? inWorker(handle.fd, mid, size, chunkBytes, keptPart(kept, r, n, true), trusted.filter((range) => range.end > mid)) : undefined;
  const found = new Findings();
  try {
    const first = await judgeStretch(read, 0, mid, chunkBytes, keptPart(kept, 0, 0, false, r, n), trusted);
    if (first === undefined || !found.join(first, index)) return undefined;
    if (mid === size) return found;
    // A worker that could not judge its half (not one that gave up) leaves it to this thread.
    let later = second === undefined ? null : await second.catch(() => null);
    found.worker = later !== null;
    later ??= await judgeStretch(read, mid, size, chunkBytes, keptPart(kept, r, n, false), trusted);
    return later !== undefined && found.join(later, index) ? found : undefined;
  } finally {
    second?.stop();
  }
}

/** Judging a byte no range trusts costs about what PLAIN_SHARE bytes of plain lines do (those are
 * only searched for their newline); a special line, about SPECIAL_WORK bytes' worth. */
const PLAIN_SHARE = 20;
const SPECIAL_WORK = 1024;

/** Where half of the work of judging the file is done, or undefined when it is under `least`. */
function splitPoint(size: number, trusted: readonly TrustedRange[], least: number): number | undefined {
  let total = 0;
  let at = 0;
  for (const range of trusted) {
    total += range.start - at + (range.end - range.start) / PLAIN_SHARE + range.specials.length * SPECIAL_WORK;
    at = range.end;
  }
  total += size - at;
  if (total < least) return undefined;
  let half = total / 2;
  at = 0;
  for (const range of trusted) {
    if (half <= range.start - at) return at + half;
    half -= range.start - at;
    at = range.start;
    for (const special of range.specials) {
      if (half <= (special - at) / PLAIN_SHARE) return at + half * PLAIN_SHARE;
      half -= (special - at) / PLAIN_SHARE + SPECIAL_WORK;
      at = special;
      if (half <= 0) return special;
    }
    if (half <= (range.end - at) / PLAIN_SHARE) return at + half * PLAIN_SHARE;
    half -= (range.end - at) / PLAIN_SHARE;
    at = range.end;
  }
  return Math.min(size, at + half);
}

/** The kept lines from row `r` and intent `n` on (up to `rowEnd` and `intentEnd`); copies to hand
 * to a worker (a view would send the whole buffer). */
function keptPart(kept: KeptLines, r: number, n: number, copy: boolean, rowEnd = kept.rows.length, intentEnd = kept.intents.length): KeptLines {
  const part = <T extends Float64Array | Uint32Array | Uint8Array>(array: T, from: number, to: number): T => (copy ? array.slice(from, to) : array.subarray(from, to)) as T;
  return {
    rows: part(kept.rows, r, rowEnd), rowHi: part(kept.rowHi, r, rowEnd), rowLo: part(kept.rowLo, r, rowEnd), rowHeld: part(kept.rowHeld, r, rowEnd),
    intents: part(kept.intents, n, intentEnd), intentHi: part(kept.intentHi, n, intentEnd), intentLo: part(kept.intentLo, n, intentEnd),
  };
}

/** A stretch judged by a worker thread: undefined when it gave up; rejects when the worker failed. */
type Judging = Promise<Stretch | undefined> & { stop(): void };

function inWorker(fd: number, from: number, to: number, chunkBytes: number, kept: KeptLines, trusted: readonly TrustedRange[]): Judging {
  let worker: Worker | undefined;
  const judging = new Promise<Stretch | undefined>((resolve, reject) => {
    worker = new Worker(workerEntry('judge-lines-worker', import.meta.url), { workerData: { fd, from, to, chunkBytes, kept, trusted } });
    worker.once('message', (stretch: Stretch | null) => resolve(stretch ?? undefined));
    worker.once('error', reject);
    worker.once('exit', () => reject(new Error('the worker judging lines exited without an answer')));
  }) as Judging;
  judging.catch(() => undefined);
  judging.stop = () => void worker?.terminate();
  return judging;
}

/** The start of the first line that starts at or after `at` (`size` if none does within reach). */
async function lineStartAfter(read: ReadAt, at: number, size: number): Promise<number> {
  if (at <= 0) return 0;
  const bytes = Buffer.allocUnsafe(64 * 1024);
  const got = await read(bytes, 0, Math.min(bytes.length, size - at + 1), at - 1);
  const newline = bytes.subarray(0, got).indexOf(NEWLINE);
  return newline < 0 ? size : at + newline;
}

/** The index of the first offset at least `at` in the sorted `offsets`. */
function firstAtLeast(offsets: Float64Array, at: number): number {
  let low = 0;
  let high = offsets.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (offsets[middle]! < at) low = middle + 1;
    else high = middle;
  }
  return low;
}

