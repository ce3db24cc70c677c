import { createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import iconv from 'iconv-lite';
import { UsageError } from '../../errors.js';
import type { RowEvent, RowSink } from '../events.js';
import { capText } from '../../capped-text.js';
import { stripUrlSecrets } from '../../url-secrets.js';
import { csvLine } from './cells.js';
import { hintFor } from './hints.js';
import { SortedSpill } from './sorted-spill.js';

// `--report FILE`: the rows that failed in this run, for the people who fix the export. Each row
// is the CSV's own columns (so HR recognise the person by Employee ID and name), then row, status,
// code, message and hint. Written at the end, sorted by row, in the input's delimiter and encoding
// (UTF-8 always with a BOM, so Excel reads accents right), or as a workbook when FILE ends in
// .xlsx. Written to a temporary name and renamed, so a half-written report never lies about a run.

export interface FailedRowsOptions {
  readonly file: string;
  /** The CSV's header, in order (unnamed columns included, as empty names). */
  readonly headers: readonly string[];
  readonly delimiter: string;
  /** The input's encoding, as iconv-lite names it (utf8, utf16le, windows1252 …). */
  readonly encoding: string;
  /** The photo column, whose cell the hints quote. */
  readonly imageColumn?: string;
  /** Rows held in memory before spilling to a temporary file. */
  readonly chunkRows?: number;
  /** Several targets: a `target` column says which one each failure is for. */
  readonly severalTargets?: boolean;
}

/** The columns after the CSV's own (and `target` after `row` when the run had several). */
export const REPORT_COLUMNS = ['row', 'status', 'code', 'message', 'hint'] as const;

export function isWorkbook(file: string): boolean {
  return /\.xlsx$/i.test(file);
}

/** Throws UsageError unless FILE can be written (the check --report runs up front). */
export async function checkReportPath(file: string, option = '--report'): Promise<void> {
  if (/\.xls$/i.test(file)) throw new UsageError(`${option} writes .csv or .xlsx, not the old .xls format: got "${file}"`);
  const folder = dirname(resolve(file));
  if (!(await stat(folder).catch(() => undefined))?.isDirectory()) throw new UsageError(`${option} ${file}: the folder ${folder} does not exist`);
  if ((await stat(file).catch(() => undefined))?.isDirectory()) throw new UsageError(`${option} ${file} is a folder; expected a file name`);
}

export class FailedRowsReport implements RowSink {
  readonly #options: FailedRowsOptions;
  readonly #spill: SortedSpill;
  readonly #header: string[];

  constructor(options: FailedRowsOptions) {
    if (!iconv.encodingExists(options.encoding)) throw new UsageError(`the report cannot be written in ${options.encoding}`);
    this.#options = options;
    this.#spill = new SortedSpill(options.chunkRows);
    // A CSV that already has a "status" or "code" column keeps it; ours are told apart.
    const own = new Set(options.headers.map((header) => header.toLowerCase()));
    const ours = options.severalTargets ? ['row', 'target', ...REPORT_COLUMNS.slice(1)] : [...REPORT_COLUMNS];
    this.#header = [...options.headers, ...ours.map((name) => (own.has(name) ? `import_${name}` : name))];
  }

  /** Failed rows seen so far. */
  get count(): number {
    return this.#spill.count;
  }

  async row(event: RowEvent): Promise<void> {
    const { line, fields } = event;
    if (line.status !== 'failed') return;
    const code = line.error?.code ?? 'unknown';
    const image = safeCell((this.#options.imageColumn && fields?.[this.#options.imageColumn]) || '');
    await this.#spill.add({
      row: line.row,
      values: [
        // A record that could not be read has no fields: its cells stay empty, the message says why.
        // The CSV's own cells, but never a URL's credentials or signature (a BambooHR photo URL
        // with user:key@, a signed query), and a huge cell capped like every ledger field.
        ...this.#options.headers.map((header) => (header === '' ? '' : safeCell(fields?.[header] ?? ''))),
        String(line.row), ...(this.#options.severalTargets ? [line.target] : []), line.status, code, line.error?.message ?? '', hintFor(code, image),
      ],
    });
  }

  /** The run ended without a summary (an unexpected error): no file, no temporary files left. */
  async discard(): Promise<void> {
    await this.#spill.dispose();
  }

  /** Writes the file (the header alone when nothing failed). Returns the rows written. */
  async close(): Promise<number> {
    const file = resolve(this.#options.file);
    const temporary = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
    try {
      if (isWorkbook(file)) await this.#writeWorkbook(temporary);
      else await this.#writeCsv(temporary);
      await rename(temporary, file);
      return this.#spill.count;
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    } finally {
      await this.#spill.dispose();
    }
  }

  async #writeCsv(path: string): Promise<void> {
    const { delimiter, encoding } = this.#options;
    const out = createWriteStream(path, { mode: 0o600 });
    const done = new Promise<void>((resolvePromise, reject) => {
      out.on('error', reject);
      out.on('finish', resolvePromise);
    });
    const write = async (text: string, first = false): Promise<void> => {
      // UTF-8 gets a BOM so Excel does not read it as the local code page; UTF-16 needs one.
      const bytes = iconv.encode(text, encoding, { addBOM: first && /^(utf-?8|utf-?16)/i.test(encoding) });
      if (!out.write(bytes)) await new Promise<void>((resolvePromise) => out.once('drain', resolvePromise));
    };
    await write(csvLine(this.#header, delimiter), true);
    for await (const entry of this.#spill.sorted()) await write(csvLine(entry.values, delimiter));
    out.end();
    await done;
  }

  async #writeWorkbook(path: string): Promise<void> {
    // Streamed: rows are committed as they are added. Cells are typed strings (and the row a
    // number), never formulas, so nothing needs neutralising and values stay exactly as given.
    // Loaded here: it is slow to load, and only .xlsx reports need it.
    const { default: ExcelJS } = await import('exceljs');
    const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: path, useSharedStrings: false, useStyles: true });
    const sheet = workbook.addWorksheet('Failed rows', { views: [{ state: 'frozen', ySplit: 1 }] });
    const header = sheet.addRow(this.#header);
    header.font = { bold: true };
    header.commit();
    const rowIndex = this.#options.headers.length;
    for await (const entry of this.#spill.sorted()) {
      const values: (string | number)[] = [...entry.values];
      values[rowIndex] = entry.row;
      sheet.addRow(values).commit();
    }
    sheet.commit();
    await workbook.commit();
  }
}

/** A cell as the report may show it: secrets in URLs stripped, length capped (see capped-text.ts). */
function safeCell(cell: string): string {
  return capText(stripUrlSecrets(cell));
}
