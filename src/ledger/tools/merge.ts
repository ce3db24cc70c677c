import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

import { UsageError } from '../../errors.js';
import { LockFile } from '../lock.js';
import { AtomicFile } from './atomic-file.js';
import { Snapshot } from './snapshot.js';

// `avatar-import ledger merge OUT IN…`: one ledger from the ledgers of shards or machines.
//
// The inputs are interleaved by time (a run line at its start, a row line when the row finished),
// each input keeping its own order, so the merged file reads as if one process had written every
// line: the latest outcome of each (target, user) across all inputs is its last line, which is
// what the import's index and the tools take. Nothing is rewritten or dropped, so every run stays
// distinguishable by its id, with its own run line, rows and end line.
//
// OUT is an input too when it exists (merging the shards into last night's merged ledger loses
// nothing a run wrote there meanwhile), and a run found in several inputs (the shard ledgers
// merged again the next night) is taken from the first input that has it, once.
//
// Lines are copied byte for byte, including lines of a type this version does not know (a newer
// version's); lines that are not JSON (a torn line a crash left) and compaction markers are not.
//
// Every file is locked for the duration: a shard still running is refused rather than merged half
// done, and no run can start on OUT until it is complete.

export interface MergeInput {
  readonly path: string;
  /** Lines taken from it. */
  readonly lines: number;
  /** Runs taken from it. */
  readonly runs: number;
  /** Lines left out because another input already had their run. */
  readonly duplicates: number;
}

export interface MergeResult {
  readonly out: string;
  readonly lines: number;
  readonly bytes: number;
  readonly inputs: readonly MergeInput[];
}

export async function mergeLedgers(out: string, inputs: readonly string[]): Promise<MergeResult> {
  if (inputs.length === 0) throw new UsageError('ledger merge needs OUT and at least one IN ledger');
  const target = resolve(out);
  const folder = await stat(dirname(target)).catch(() => undefined);
  if (!folder?.isDirectory()) throw new UsageError(`ledger merge: the folder of ${target} does not exist`);
  // OUT first when it exists, then the inputs in the order given, each once.
  const outExists = (await stat(target).catch(() => undefined))?.isFile() === true;
  const paths = [...new Set([...(outExists ? [target] : []), ...inputs.map((p) => resolve(p))])];
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) throw new UsageError(`ledger merge: ${path} does not exist or is not a file`);
  }

  const locks: LockFile[] = [];
  try {
    for (const path of new Set([target, ...paths])) locks.push(await LockFile.acquire(`${path}.lock`, path));
    return await interleave(target, paths);
  } finally {
    for (const lock of locks.reverse()) await lock.release().catch(() => undefined);
  }
}

async function interleave(target: string, paths: readonly string[]): Promise<MergeResult> {
  const snapshots: Snapshot[] = [];
  try {
    for (const path of paths) snapshots.push(await Snapshot.open(path));
    // Which input each run is taken from: the first that has any line of it. Runs are few.
    const owner = new Map<string, number>();
    for (let i = 0; i < snapshots.length; i++) {
      for await (const { texts } of snapshots[i]!.texts()) {
        for (const text of texts) {
          const run = inspect(text)?.run;
          if (run !== undefined && !owner.has(run)) owner.set(run, i);
        }
      }
    }

    const heads = snapshots.map((snapshot, i) => new Head(snapshot, i));
    for (const head of heads) await head.advance();
    const stats = paths.map((path) => ({ path, lines: 0, runs: new Set<string>(), duplicates: 0 }));
    const file = await AtomicFile.create(target);
    try {
      for (;;) {
        let next: Head | undefined;
        for (const head of heads) if (head.current && (!next || head.time < next.time)) next = head;
        if (!next) break;
        const { text, run } = next.current!;
        const stat = stats[next.input]!;
        if (run === undefined || owner.get(run) === next.input) {
          await file.line(text);
          stat.lines++;
          if (run !== undefined) stat.runs.add(run);
        } else {
          stat.duplicates++;
        }
        await next.advance();
      }
      await file.commit();
    } catch (error) {
      await file.abandon();
      throw error;
    }
    return {
      out: target, lines: file.lineCount, bytes: file.bytes,
      inputs: stats.map((s) => ({ path: s.path, lines: s.lines, runs: s.runs.size, duplicates: s.duplicates })),
    };
  } finally {
    for (const snapshot of snapshots) await snapshot.close();
  }
}

/** What merging needs of a line: its run and its time. Undefined for a line to leave out. */
interface Inspected {
  readonly text: string;
  readonly run?: string;
  readonly time?: string;
}

function inspect(text: string): Inspected | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined; // torn or damaged
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const line = value as Record<string, unknown>;
  if (line.type === 'compacted') return undefined; // describes one file, not the merge
  const run = typeof line.run === 'string' ? line.run : undefined;
  // A run line at its start, a row when it finished, an end line when the run ended.
  const time = [line.ts, line.started, line.ended].find((t): t is string => typeof t === 'string' && t !== '');
  return { text, ...(run === undefined ? {} : { run }), ...(time === undefined ? {} : { time }) };
}

/** One input's next line, and the time it sorts by. */
class Head {
  current: Inspected | undefined;
  /** The line's own time, or the latest seen in this input (a line without one stays in place). */
  time = '';
  private readonly batches: AsyncGenerator<{ texts: string[] }>;
  private batch: string[] = [];
  private at = 0;

  constructor(
    snapshot: Snapshot,
    readonly input: number,
  ) {
    this.batches = snapshot.texts();
  }

  async advance(): Promise<void> {
    for (;;) {
      while (this.at >= this.batch.length) {
        const next = await this.batches.next();
        if (next.done) {
          this.current = undefined;
          return;
        }
        this.batch = next.value.texts;
        this.at = 0;
      }
      const inspected = inspect(this.batch[this.at++]!);
      if (inspected === undefined) continue;
      this.current = inspected;
      if (inspected.time !== undefined && inspected.time > this.time) this.time = inspected.time;
      return;
    }
  }
}

export function formatMerge(result: MergeResult): string {
  const out = [`merged ${result.inputs.length} ledgers into ${result.out}: ${result.lines} lines (${result.bytes} bytes)`];
  for (const input of result.inputs) {
    out.push(`  ${input.path}: ${input.lines} lines, ${input.runs} runs${input.duplicates ? `, ${input.duplicates} lines of runs already taken from another input` : ''}`);
  }
  return out.join('\n') + '\n';
}
