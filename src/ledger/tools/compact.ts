import { open } from 'node:fs/promises';
import { resolve } from 'node:path';

import { UsageError } from '../../errors.js';
import { pruneBackups, type PruneResult } from '../backups.js';
import type { EndLine, RowLine } from '../lines.js';
import { MIN_ROWS_INDEX_FILE, saveIndex } from '../index-file.js';
import { Ledger } from '../ledger.js';
import { LockFile } from '../lock.js';
import { OffsetIndex } from '../offset-index.js';
import { AtomicFile } from './atomic-file.js';
import { saveTrusted } from '../trusted-file.js';
import type { TrustedRange } from '../trusted-lines.js';
import { rewriteFromIndex, type SplitOptions } from './compact-from-index.js';
import { Outcomes } from './outcomes.js';
import { RunCensus } from './runs.js';
import { Snapshot, parseIntentLine as parseIntent, parseLine } from './snapshot.js';

// `avatar-import ledger compact`: rewrite the ledger keeping what the next runs and the tools need,
// and drop the rest of the history (mostly a line per user per night saying "unchanged").
//
// Kept, verbatim:
// - per (target, user), the lines the import's index answers with: the latest row line, and the
//   latest one holding `remote` (lookup() returns exactly these, so the next run decides exactly
//   as it would have: same skips, same changed_by_user, same redo);
// - per (target, user), the current outcome the tools report (the latest line that is not a
//   duplicate row), and the failing rows of each target's latest run (`ledger failed` is unchanged);
// - for the last `keepRuns` runs, every line that changed something (`ok`, `removed`): each holds
//   the `previous` avatar that rolling that run back restores;
// - per (target, user), a pending intent (one no row line follows: a write whose outcome a kill
//   lost), so that the next run still recognises that write as the tool's own;
// - every run line and end line (one per run: the history of runs stays complete). A run without
//   an end line gets one, with its row counts, since its rows are going;
// - lines of a type this version does not know (a newer version's): not ours to judge.
// Dropped: older row lines, lines that are not JSON (a torn line), earlier compaction markers.
// The new file ends with a `compacted` line, which the import's auto-compaction reads to know
// the size it started from.
//
// Two ways to the same bytes: from the ledger's index (compact-from-index.ts: lines judged by their
// offsets and a walk over their bytes, kept ones copied as bytes), which runs whenever it can, and
// line by line (rewriteLineByLine below: every line parsed), which it falls back on and is tested
// against.
//
// Offsets are fingerprinted as in the index: two (target, user) keys whose 64-bit fingerprints
// collide (odds ~n²/2^65: 2.7e-8 for a million users) share an entry, and one of them may lose its
// lines here; that user is then treated as new once, like a collision in the index itself.

export const DEFAULT_KEEP_RUNS = 10;

export interface CompactOptions {
  /** Runs, newest first, whose changes stay complete for rollback. */
  readonly keepRuns?: number;
  /** The caller already holds the ledger's lock (a run compacting its own ledger as it closes). */
  readonly lockHeld?: boolean;
  /**
   * The ledger's index, from the run that holds it (`size`: the length it covers, the file's):
   * compaction then judges most lines by their offsets and walks the rest without parsing them,
   * and indexes the new file itself (compact-from-index.ts). Same result, a fraction of the work.
   */
  readonly index?: { readonly offsets: OffsetIndex; readonly size: number; readonly trusted?: readonly TrustedRange[] };
  /** Bytes read and written at a time when compacting from the index (default 4 MiB; tests make
   * it small, so that lines cross reads and writes). */
  readonly ioBytes?: number;
  /** When pass 1 judges the file in two halves at once (default: 64 MiB and more, the second half
   * in a worker thread; tests make small files split). */
  readonly split?: SplitOptions;
}

export interface CompactResult {
  readonly ledger: string;
  readonly before: { readonly bytes: number; readonly lines: number };
  readonly after: { readonly bytes: number; readonly lines: number };
  readonly runs: number;
  /** Kept images (`backup/` beside the ledger) removed because no ledger names them any more. */
  readonly backups?: PruneResult;
  /** The new file's index is written beside it (or it is too small to need one): the next run
   * need not scan it. */
  readonly indexed?: boolean;
  /** Which threads judged the lines, when compacting from the index: the main thread alone, or the
   * file in two halves, the second in a worker thread (compact-from-index.ts). */
  readonly judgedBy?: 'main' | 'main+worker';
}

/** The last line of a compacted ledger. Additive: older versions skip lines of unknown type. */
export interface CompactedLine {
  type: 'compacted';
  at: string;
  keepRuns: number;
  /** Row lines kept. */
  rows: number;
}

export async function compactLedger(path: string, options: CompactOptions = {}): Promise<CompactResult> {
  const keepRuns = options.keepRuns ?? DEFAULT_KEEP_RUNS;
  if (!Number.isSafeInteger(keepRuns) || keepRuns < 0) throw new UsageError(`--keep-runs expects a whole number of runs from 0, got "${String(keepRuns)}"`);
  const absolute = resolve(path);
  const snapshotFirst = await Snapshot.open(absolute); // a missing ledger: UsageError before any lock file is made
  await snapshotFirst.close();
  const lock = options.lockHeld ? undefined : await LockFile.acquire(`${absolute}.lock`, absolute);
  try {
    const result = await rewriteBest(absolute, keepRuns, options.index, options.ioBytes, options.split);
    // The lines just dropped may have been the last to name a kept image (Zulip's backup/). A
    // folder whose ledgers cannot all be read is left alone: they may name any of them.
    const backups = await pruneBackups(absolute).catch(() => undefined);
    return { ...result, ...(backups ? { backups } : {}) };
  } finally {
    await lock?.release();
  }
}

/**
 * From the index when it can (compact-from-index.ts), line by line when that gives up. A run's
 * compaction brings its index, and gets the new file's written; `ledger compact` opens the index
 * as a dry run would (the index file, or a scan) and leaves none, as documented.
 */
async function rewriteBest(path: string, keepRuns: number, known: CompactOptions['index'], ioBytes: number | undefined, split: SplitOptions | undefined): Promise<CompactResult> {
  if (known !== undefined) return (await rewriteIndexed(path, keepRuns, known, true, ioBytes, split)) ?? (await rewriteLineByLine(path, keepRuns));
  const ledger = await Ledger.open(path, { readOnly: true });
  let result: CompactResult | undefined;
  try {
    result = await rewriteIndexed(path, keepRuns, ledger.indexNow(), false, ioBytes, split);
  } finally {
    await ledger.close();
  }
  return result ?? (await rewriteLineByLine(path, keepRuns));
}

/** compact-from-index.ts's rewrite; undefined when it gave up (the ledger is left as it was). */
async function rewriteIndexed(path: string, keepRuns: number, known: NonNullable<CompactOptions['index']>, keepIndex: boolean, ioBytes: number | undefined, split: SplitOptions | undefined): Promise<CompactResult | undefined> {
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    if (size !== known.size) return undefined; // not the file the index describes
    const out = await AtomicFile.create(path, ioBytes);
    let done: Awaited<ReturnType<typeof rewriteFromIndex>>;
    try {
      done = await rewriteFromIndex(handle, size, out, keepRuns, known.offsets, known.trusted, ioBytes, split);
      if (done === undefined) {
        await out.abandon();
        return undefined;
      }
      const marker: CompactedLine = { type: 'compacted', at: new Date().toISOString(), keepRuns, rows: done.rows };
      await out.line(JSON.stringify(marker));
      await out.commit();
    } catch (error) {
      await out.abandon();
      throw error;
    }
    // The index a run opening the new file would build, and leave, as it closes: written now, with
    // the lock still held. Only a cache: a failure costs the next run a scan.
    let indexed = keepIndex;
    if (keepIndex && done.rows >= MIN_ROWS_INDEX_FILE) {
      const ledger = await open(path, 'r');
      try {
        await saveIndex(path, ledger, out.bytes, done.index, { rows: done.rows, damaged: 0, compactedRows: done.rows });
        await saveTrusted(path, ledger, out.bytes, done.trusted === undefined ? [] : [done.trusted]);
      } catch {
        indexed = false;
      } finally {
        await ledger.close();
      }
    }
    return { ledger: path, before: { bytes: size, lines: done.lines }, after: { bytes: out.bytes, lines: out.lineCount }, runs: done.runs, indexed, judgedBy: done.judgedBy };
  } finally {
    await handle.close();
  }
}

/**
 * The compaction every line of which is parsed: what compact-from-index.ts falls back on, and the
 * reference its tests compare it with byte for byte. Call with the lock held.
 */
export async function rewriteLineByLine(path: string, keepRuns: number): Promise<CompactResult> {
  const snapshot = await Snapshot.open(path);
  try {
    // Pass 1: where each user stands (for the tools) …
    const outcomes = await Outcomes.build(snapshot);
    // … pass 2: the import's own view (latest and latest-with-remote, over every row line), the
    // runs, and how many lines there are.
    const index = new OffsetIndex();
    const census = new RunCensus();
    const runOrder: string[] = [];
    const ended = new Set<string>();
    let lines = 0;
    for await (const { texts, offsets } of snapshot.texts()) {
      lines += texts.length;
      for (let i = 0; i < texts.length; i++) {
        const line = parseLine(texts[i]!);
        if (line === undefined) {
          const intent = parseIntent(texts[i]!);
          if (intent !== undefined) index.recordIntent(intent.target, intent.user, offsets[i]!);
          continue;
        }
        census.add({ line, offset: offsets[i]!, bytes: 0 });
        if (line.type === 'row') index.record(line.target, line.user, offsets[i]!, typeof line.remote === 'string');
        else if (line.type === 'run') runOrder.push(line.run);
        else ended.add(line.run);
      }
    }
    const recent = new Set(runOrder.slice(Math.max(0, runOrder.length - keepRuns)));
    const counts = new Map(census.summaries().map((run) => [run.run, run.counts]));

    const keep = (line: RowLine, offset: number): boolean => {
      const found = index.find(line.target, line.user);
      if (found !== undefined && (found.latest === offset || found.held === offset)) return true;
      if (outcomes.classify(line, offset) !== undefined) return true;
      return recent.has(line.run) && (line.status === 'ok' || (line.status as string) === 'removed') && line.reason !== 'dry_run';
    };

    // Pass 3: copy.
    const out = await AtomicFile.create(path);
    try {
      let rows = 0;
      for await (const { texts, offsets } of snapshot.texts()) {
        for (let i = 0; i < texts.length; i++) {
          const text = texts[i]!;
          const line = parseLine(text);
          if (line === undefined) {
            // A pending intent stays: the next run must still recognise that write as the tool's.
            const intent = parseIntent(text);
            if (intent !== undefined) {
              if (index.find(intent.target, intent.user)?.intent === offsets[i]!) await out.line(text);
              continue; // a settled intent: its row line says how it ended
            }
            if (isUnknownType(text)) await out.line(text);
            continue;
          }
          if (line.type === 'row') {
            if (keep(line, offsets[i]!)) {
              await out.line(text);
              rows++;
            }
          } else {
            await out.line(text);
            if (line.type === 'run' && !ended.has(line.run)) {
              const end: EndLine = { type: 'end', run: line.run, counts: { ...counts.get(line.run) }, compacted: true };
              await out.line(JSON.stringify(end));
              ended.add(line.run);
            }
          }
        }
      }
      const marker: CompactedLine = { type: 'compacted', at: new Date().toISOString(), keepRuns, rows };
      await out.line(JSON.stringify(marker));
      await out.commit();
    } catch (error) {
      await out.abandon();
      throw error;
    }
    return { ledger: path, before: { bytes: snapshot.size, lines }, after: { bytes: out.bytes, lines: out.lineCount }, runs: runOrder.length };
  } finally {
    await snapshot.close();
  }
}

/** A JSON object line with a `type` no reader here knows (not a damaged row line, not a marker). */
function isUnknownType(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
    const type = (value as { type?: unknown }).type;
    return typeof type === 'string' && !['row', 'run', 'end', 'compacted'].includes(type);
  } catch {
    return false;
  }
}

export function formatCompact(result: CompactResult): string {
  const pct = result.before.bytes === 0 ? 100 : Math.round((100 * result.after.bytes) / result.before.bytes);
  const backups = result.backups;
  const kept = backups ? `; backup/: ${backups.removed} images no ledger names removed (${backups.bytes} bytes), ${backups.kept} kept` : '';
  return `compacted ${result.ledger}: ${result.before.lines} lines (${result.before.bytes} bytes) → ${result.after.lines} lines (${result.after.bytes} bytes, ${pct} %); ${result.runs} runs listed${kept}\n`;
}

