// Excel workbooks read directly, streamed: exceljs's streaming WorkbookReader hands out one row at
// a time from the zip, so a 100 000-row sheet is never in memory whole (only its shared-strings
// table is, which Excel keeps separate from the rows: see the README's memory figures). Rows come
// out exactly as CSV records do (table.ts), numbered by the sheet row a spreadsheet shows, so the
// ledger's `line` points at the row to fix.

import { EventEmitter } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { UsageError } from '../errors.js';
import { checkDuplicateHeaders, listHeaders } from './columns.js';
import type { TableInput, TableProblem, TableRecord } from './table.js';

export interface XlsxOptions {
  /** --sheet: the worksheet to read (default: the first). */
  sheet?: string;
  /** --skip-lines: sheet rows above the header (a report title) that are not read. */
  skipLines?: number;
  /** --skip-rows-matching: rows whose cells, joined with commas, match are dropped. */
  skipRowsMatching?: RegExp;
}

export interface XlsxInput extends TableInput {
  /** The worksheet read. */
  readonly sheet: string;
}

/** Whether a file's first bytes are a zip (an .xlsx is one), whatever its name. */
export function looksLikeXlsx(head: Buffer): boolean {
  return head.length >= 4 && head.readUInt32BE(0) === 0x504b0304;
}

interface SheetRow { number: number; cells: string[] }

/**
 * exceljs's streaming reader walks the zip with a helper that races (exceljs issues #1558, #3064):
 * now and then a sheet is handed out before the workbook part and the shared strings were read,
 * so the sheet has no name and its text cells hold `{ sharedString: n }` instead of the text (one
 * read in about 130 of a small exceljs-written workbook, here). Both show by the header row at the
 * latest, since the strings are all read before any row is: the read is then made again from the
 * start, which a file allows. Never a silently wrong row.
 */
class RacedRead extends Error {}
const READ_ATTEMPTS = 4;

/** `source`: the workbook's bytes; a function opening them, when it may be read again (a file). */
export async function openXlsx(source: Readable | (() => Readable), options: XlsxOptions = {}): Promise<XlsxInput> {
  const attempts = typeof source === 'function' ? READ_ATTEMPTS : 1; // a stream is read once
  for (let attempt = 1; ; attempt++) {
    try {
      return await openOnce(typeof source === 'function' ? source() : source, options);
    } catch (error) {
      if (!(error instanceof RacedRead)) throw error;
      if (attempt === attempts) throw new UsageError(`the workbook could not be read whole${attempts > 1 ? ` in ${attempts} attempts` : ''} (${error.message}); save it as CSV and import that`);
    }
  }
}

async function openOnce(source: Readable, options: XlsxOptions): Promise<XlsxInput> {
  // Loaded here, not at start: exceljs costs a third of a second to load, and most runs read CSV.
  const { default: ExcelJS } = await import('exceljs');
  let bytesRead = 0;
  const counted = new PassThrough();
  source.on('data', (chunk: Buffer) => (bytesRead += chunk.length));
  source.on('error', (error) => counted.destroy(error));
  source.pipe(counted);
  const close = (): void => {
    source.destroy();
    counted.destroy();
  };

  const reader = new ExcelJS.stream.xlsx.WorkbookReader(counted, {
    sharedStrings: 'cache', hyperlinks: 'ignore', styles: 'ignore', worksheets: 'emit', entries: 'ignore',
  });
  const skipLines = options.skipLines ?? 0;
  let sheetName = '';
  const seenSheets: string[] = [];

  async function* rows(): AsyncGenerator<SheetRow, void, undefined> {
    try {
      for await (const worksheet of reader) {
        if ((reader as unknown as { model?: { sheets?: unknown } }).model?.sheets === undefined) throw new RacedRead('a sheet came before the workbook part');
        const name = (worksheet as unknown as { name?: string }).name ?? `Sheet${seenSheets.length + 1}`;
        seenSheets.push(name);
        if (options.sheet !== undefined ? name !== options.sheet : seenSheets.length > 1) {
          skip(worksheet);
          continue;
        }
        sheetName = name;
        for await (const row of worksheet) {
          if (row.number <= skipLines) continue;
          const values = row.values as unknown[];
          const cells: string[] = [];
          for (let i = 1; i < values.length; i++) cells.push(cellText(values[i]).trim());
          if (cells.every((cell) => cell === '')) continue;
          yield { number: row.number, cells };
        }
        return;
      }
    } finally {
      close();
    }
  }

  const sheetRows = rows();
  let header: SheetRow;
  try {
    const first = await sheetRows.next();
    if (first.done) {
      if (options.sheet !== undefined && sheetName === '') {
        throw new UsageError(`--sheet ${JSON.stringify(options.sheet)}: the workbook has no such sheet; its sheets are ${listHeaders(seenSheets)}`);
      }
      throw new UsageError(`the sheet ${JSON.stringify(sheetName || seenSheets[0] || '')} is empty${skipLines > 0 ? ` after the ${skipLines} row(s) --skip-lines skips` : ''}: expected a header row naming the columns`);
    }
    header = first.value;
    checkDuplicateHeaders(header.cells);
  } catch (error) {
    await sheetRows.return();
    if (error instanceof UsageError || error instanceof RacedRead) throw error;
    // The same race, met inside exceljs (#3064): it looks the sheet's name up in a model not read yet.
    if (error instanceof TypeError && error.message.includes("reading 'sheets'")) throw new RacedRead('a sheet came before the workbook part');
    throw new UsageError(`the workbook could not be read: ${(error as Error).message}`);
  }
  const headers = header.cells;

  async function* records(): AsyncGenerator<TableRecord | TableProblem> {
    let row = 0;
    for await (const { number, cells } of sheetRows) {
      if (options.skipRowsMatching?.test(cells.join(','))) continue;
      row++;
      const fields: Record<string, string> = Object.create(null);
      // A sheet has no field count: a cell left empty and a row that stops early read the same.
      headers.forEach((name, i) => {
        if (name !== '') fields[name] = cells[i] ?? '';
      });
      yield { row, line: number, fields };
    }
  }

  return {
    headers,
    get sheet() {
      return sheetName;
    },
    records: records(),
    useColumns: () => undefined,
    bytesRead: () => bytesRead,
  };
}

/**
 * A sheet passed over unread. exceljs deletes the temp file it spooled the sheet to as soon as the
 * loop moves on, while the sheet's file stream, created but not yet opened, opens it later: the
 * ENOENT it then emits, with no listener, would be an uncaught error. Closed here instead.
 */
function skip(worksheet: unknown): void {
  const stream = (worksheet as { iterator?: unknown }).iterator;
  if (stream instanceof EventEmitter) {
    stream.on('error', () => undefined);
    (stream as Partial<Readable>).destroy?.();
  }
}

/** What a cell shows, as text: rich text joined, a formula's result, a hyperlink's text. */
function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (value instanceof Date) return value.toISOString().replace(/T00:00:00\.000Z$/, '');
  if (typeof value === 'object') {
    const cell = value as { richText?: Array<{ text?: string }>; text?: unknown; result?: unknown; error?: unknown };
    if (Array.isArray(cell.richText)) return cell.richText.map((part) => part.text ?? '').join('');
    if ('result' in cell) return cellText(cell.result);
    if (cell.text !== undefined) return cellText(cell.text);
    // An error value (#N/A, #REF!) shows no data: an empty cell.
    if (cell.error !== undefined) return '';
    if ('sharedString' in cell) throw new RacedRead('a text cell came before the shared strings');
  }
  return String(value);
}
