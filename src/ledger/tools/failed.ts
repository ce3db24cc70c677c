import { UsageError } from '../../errors.js';
import { neutralise, quote } from '../../report/failed/cells.js';
import { hintFor } from '../../report/failed/hints.js';
import { Outcomes } from './outcomes.js';
import { Snapshot } from './snapshot.js';

// `avatar-import ledger failed`: the rows to fix before the next run, in CSV order. What is kept
// between the passes is two numbers per failing row (its CSV row and the offset of its line);
// the lines are read back one at a time, in row order, while the output is written.

export interface FailedRow {
  readonly row: number;
  /** The CSV file line where the record starts, when recorded. */
  readonly line?: number;
  readonly user: string;
  readonly target: string;
  readonly code: string;
  readonly message: string;
  readonly hint: string;
  /** The next run tries it again by itself (the failure can heal). */
  readonly retried: boolean;
  readonly run: string;
  readonly ts: string;
}

export const FAILED_FORMATS = ['table', 'csv', 'json'] as const;
export type FailedFormat = (typeof FAILED_FORMATS)[number];

/**
 * Every user failing now (their latest outcome is a failure) and every failing row problem of the
 * latest run (an empty id, a malformed record, a duplicate), sorted by CSV row.
 */
export async function* failedRows(path: string): AsyncGenerator<FailedRow> {
  // A generator cannot yield from inside withSnapshot's callback, hence the explicit try.
  const snapshot = await Snapshot.open(path);
  try {
    const outcomes = await Outcomes.build(snapshot);
    const rows: number[] = [];
    const offsets: number[] = [];
    for await (const batch of snapshot.lines()) {
      for (const { line, offset } of batch) {
        if (line.type !== 'row' || line.status !== 'failed') continue;
        if (outcomes.classify(line, offset) === undefined) continue;
        rows.push(line.row);
        offsets.push(offset);
      }
    }
    const order = Uint32Array.from(rows.keys()).sort((a, b) => rows[a]! - rows[b]! || offsets[a]! - offsets[b]!);
    for (const i of order) {
      const line = await snapshot.lineAt(offsets[i]!);
      if (line?.type !== 'row') continue;
      const code = line.error?.code ?? 'unknown';
      yield {
        row: line.row, ...(line.line === undefined ? {} : { line: line.line }), user: line.user, target: line.target,
        code, message: line.error?.message ?? '', hint: hintFor(code, line.source), retried: line.error?.retryable === true,
        run: line.run, ts: line.ts,
      };
    }
  } finally {
    await snapshot.close();
  }
}

export function parseFailedFormat(value: string): FailedFormat {
  if ((FAILED_FORMATS as readonly string[]).includes(value)) return value as FailedFormat;
  throw new UsageError(`--format expects one of ${FAILED_FORMATS.join(', ')}, got "${value}"`);
}

/**
 * Writes the rows in `format` through `write`, as they come. CSV cells are escaped for
 * spreadsheets (report/failed/cells.ts, shared with the failed-rows report); JSON is one array, streamed.
 */
export async function writeFailed(rows: AsyncIterable<FailedRow>, format: FailedFormat, write: (text: string) => void | Promise<void>): Promise<number> {
  let count = 0;
  if (format === 'csv') {
    await write('row,line,user,target,code,message,hint,retried\n');
    for await (const r of rows) {
      count++;
      await write([r.row, r.line ?? '', r.user, r.target, r.code, r.message, r.hint, r.retried ? 'yes' : 'no'].map((v) => quote(neutralise(String(v)), ',')).join(',') + '\n');
    }
  } else if (format === 'json') {
    await write('[');
    for await (const r of rows) await write(`${count++ === 0 ? '\n' : ',\n'}${JSON.stringify(r)}`);
    await write(count === 0 ? ']\n' : '\n]\n');
  } else {
    for await (const r of rows) {
      if (count++ === 0) await write('row     user / target: code: message\n');
      const who = r.user === '' ? '(no user)' : r.user;
      // Row 0: a leaver (--remove-missing) whose removal failed: in no row of the CSV.
      await write(`${(r.row === 0 ? 'leaver' : String(r.row)).padEnd(7)} ${who} / ${r.target}: ${r.code}: ${r.message}\n        → ${r.hint}\n`);
    }
    if (count === 0) await write('no failing rows\n');
  }
  return count;
}
