// The CSV as a lazy stream of records. Nothing here holds more than the record being read: the
// source is pulled only as fast as the consumer takes records (stream back-pressure through
// Readable.from → RecordParser → the async iterator), which is what keeps memory flat on a
// 1 000 000-row file.

import { Readable, pipeline } from 'node:stream';
import { RowError, UsageError } from '../errors.js';
import { checkDuplicateHeaders, listHeaders } from './columns.js';
import { detectDelimiter, parseDelimiterOption, peekFirstLine } from './delimiter.js';
import { bomOf, checkUtf8, chooseWithoutBom, lazyToUtf8, parseEncodingOption, toUtf8, type EncodingChoice } from './encoding.js';
import { RecordParser, type Parsed } from './parser.js';
import { RawRecords } from './raw-records.js';
import type { TableInput, TableProblem, TableRecord } from './table.js';

// Part of this module's surface; it lives with the name-matching rules templates share.
export { pickColumns } from './columns.js';

export type CsvRecord = TableRecord;
export type CsvProblem = TableProblem;

export interface CsvInput extends TableInput {
  readonly delimiter: string;
  /** How the bytes were decoded, and why (announce() in encoding.ts words a guess). */
  readonly encoding: EncodingChoice;
}

export interface CsvOptions {
  /** --delimiter; detected from the header line when absent. */
  delimiter?: string;
  /** --encoding (an iconv-lite name); else a BOM decides, else see `rescan`. */
  encoding?: string;
  /** --skip-lines: physical lines above the header (a report title) that are not read. */
  skipLines?: number;
  /** --skip-rows-matching: data rows whose raw text matches are dropped (a "Total: 42" footer). */
  skipRowsMatching?: RegExp;
  /**
   * The same bytes again from the start, for a file: without a BOM the whole file is checked
   * for UTF-8 before reading, so a Windows-1252 byte on the last line is not missed. Without it
   * (stdin) the first non-ASCII byte decides (lazyToUtf8).
   */
  rescan?: () => AsyncIterable<Buffer | string>;
  /** Hears a decision made after openCsv returned (stdin whose first non-ASCII byte is late). */
  onEncoding?: (choice: EncodingChoice) => void;
}

export async function openCsv(source: NodeJS.ReadableStream, options: CsvOptions = {}): Promise<CsvInput> {
  const explicit = options.delimiter === undefined ? undefined : parseDelimiterOption(options.delimiter);
  const forced = options.encoding === undefined ? undefined : parseEncodingOption(options.encoding);
  const skipLines = options.skipLines ?? 0;
  const chunks = source[Symbol.asyncIterator]();
  let bytesRead = 0;
  const pull = async (): Promise<Buffer | undefined> => {
    const next = await chunks.next();
    if (next.done) return undefined;
    const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    bytesRead += chunk.length;
    return chunk;
  };

  let choice: EncodingChoice;
  let head: Buffer[];
  let utf8: (chunk: Buffer | undefined) => Buffer;
  let decided = false;
  try {
    ({ choice, head } = await chooseEncoding(pull, forced, options.rescan));
    if (choice.why === 'undecided') {
      utf8 = lazyToUtf8((made) => {
        choice = made;
        if (decided) options.onEncoding?.(made);
      });
    } else {
      utf8 = toUtf8(choice.name);
    }
  } catch (error) {
    close(source);
    throw error;
  }
  // Created once the delimiter is known; until then nothing can stop the reading.
  let parser: RecordParser | undefined;
  const stopped = (): boolean => parser?.stopped ?? false;
  async function* decoded(): AsyncGenerator<Buffer> {
    for (const chunk of head) yield utf8(chunk);
    while (!stopped()) {
      const chunk = await pull();
      if (chunk === undefined) break;
      yield utf8(chunk);
    }
    const rest = utf8(undefined);
    if (rest.length > 0) yield rest;
  }
  const text = skipLeadingLines(decoded(), skipLines);

  const peeked = await peekFirstLine(text);
  if (peeked.firstLine === undefined) {
    close(source);
    throw new UsageError(`the CSV is empty${skipLines > 0 ? ` after the ${skipLines} line(s) --skip-lines skips` : ''}: expected a header line naming the columns`);
  }
  const delimiter = explicit ?? detectDelimiter(peeked.firstLine);
  parser = new RecordParser(delimiter);
  async function* feed(): AsyncGenerator<Buffer> {
    for (const chunk of peeked.chunks) yield chunk;
    for (;;) {
      const next = await text.next();
      if (next.done) break;
      yield next.value;
    }
  }
  // Errors (a failing source) reach the consumer through the parser's iterator.
  pipeline(Readable.from(feed(), { objectMode: false }), parser, () => {});
  // However parsing ends — read to the end, the consumer left the loop, a runaway field — the
  // source is closed when the parser is. Destroyed, not asked to return(): feed() may be waiting
  // on the source's iterator for input that never comes (a quiet stdin), and an async iterator
  // queues return() behind that wait.
  parser.once('close', () => close(source));

  const items = new RawRecords(parser[Symbol.asyncIterator]() as AsyncIterator<Parsed[]>, delimiter, skipLines, options.skipRowsMatching);
  let headers: string[];
  try {
    const first = await items.first();
    if (first === undefined) throw new UsageError('the CSV is empty: expected a header line naming the columns');
    if (first.kind === 'problem') throw new UsageError(`the header line could not be read: ${first.message}`);
    headers = first.cells;
    checkHeaders(headers, choice);
    decided = true;
  } catch (error) {
    await items.close();
    throw error;
  }

  const table = new Columns(headers);
  return {
    headers,
    delimiter,
    get encoding() {
      return choice;
    },
    records: records(items, table, () => choice),
    useColumns: (columns) => table.use(columns),
    bytesRead: () => bytesRead,
  };
}

/**
 * The encoding, and the chunks read to decide it (to be decoded first). A BOM or --encoding
 * decides at once; otherwise the UTF-8 check runs over the whole file (`rescan`), or, for a
 * source that can only be read once, the reading itself decides (lazyToUtf8).
 */
async function chooseEncoding(
  pull: () => Promise<Buffer | undefined>,
  forced: string | undefined,
  rescan: CsvOptions['rescan'],
): Promise<{ choice: EncodingChoice; head: Buffer[] }> {
  const head: Buffer[] = [];
  let size = 0;
  let ended = false;
  const more = async (): Promise<void> => {
    const chunk = await pull();
    if (chunk === undefined) ended = true;
    else {
      head.push(chunk);
      size += chunk.length;
    }
  };
  if (forced !== undefined) return { choice: { name: forced, why: 'option' }, head };
  while (size < 3 && !ended) await more();
  const bom = bomOf(Buffer.concat(head));
  if (bom) return { choice: { name: bom.name, why: 'bom' }, head };
  if (rescan) return { choice: chooseWithoutBom(await checkUtf8(rescan())), head };
  return { choice: { name: 'utf-8', why: 'undecided' }, head };
}

/** Drops the first `count` physical lines (CRLF, LF or a lone CR each end one) of UTF-8 chunks. */
async function* skipLeadingLines(chunks: AsyncGenerator<Buffer>, count: number): AsyncGenerator<Buffer, void, undefined> {
  let left = count;
  // The last line skipped ended in a CR at the end of a chunk: an LF starting the next is its.
  let pendingCr = false;
  for await (const chunk of chunks) {
    if (chunk.length === 0) continue;
    let i = 0;
    if (pendingCr) {
      pendingCr = false;
      if (chunk[0] === 0x0a) i = 1;
    }
    while (left > 0 && i < chunk.length) {
      const byte = chunk[i++];
      if (byte === 0x0a) left--;
      else if (byte === 0x0d) {
        left--;
        if (i === chunk.length) pendingCr = true;
        else if (chunk[i] === 0x0a) i++;
      }
    }
    if (i < chunk.length) yield i === 0 ? chunk : chunk.subarray(i);
  }
}

function close(source: NodeJS.ReadableStream): void {
  const destroy = (source as Partial<Readable>).destroy;
  if (typeof destroy === 'function') destroy.call(source);
  else source.pause();
}

function checkHeaders(headers: string[], encoding: EncodingChoice): void {
  const damaged = headers.findIndex((header) => header.includes(REPLACEMENT));
  if (damaged !== -1) {
    throw new UsageError(
      `the header line is not valid ${encoding.name}: column ${damaged + 1} reads ${JSON.stringify(readable(headers[damaged]!))}; choose the file's encoding with --encoding (e.g. windows-1252)`,
    );
  }
  checkDuplicateHeaders(headers);
}

const REPLACEMENT = '\uFFFD';

/** A value fit for a message: the replacement character shown as "?", never copied anywhere. */
function readable(value: string): string {
  return value.replaceAll(REPLACEMENT, '?');
}

/** The header, and which of its columns the run reads (see CsvInput.useColumns). */
class Columns {
  #needed: number;

  constructor(readonly headers: readonly string[]) {
    this.#needed = headers.length;
  }

  use(columns: readonly string[]): void {
    // Fields up to the last column in use must be there; columns are read by position.
    this.#needed = Math.max(0, ...columns.map((column) => this.headers.indexOf(column) + 1));
  }

  /** Why a record of `cells` cannot be read, or undefined. */
  problem(cells: readonly string[]): string | undefined {
    const count = cells.length;
    if (count < this.#needed) {
      const absent = this.headers.slice(count, this.#needed).filter((header) => header !== '');
      return `expected ${this.headers.length} fields as in the header, found ${count}: no cell for ${listHeaders(absent)}`;
    }
    // More fields than the header: fine when the extra ones are empty (a trailing delimiter);
    // text there means a value with an unquoted delimiter shifted the row, so nothing in it can
    // be trusted to be in its column.
    if (count > this.headers.length && cells.slice(this.headers.length).some((cell) => cell !== '')) {
      return `expected ${this.headers.length} fields as in the header, found ${count}`;
    }
    return undefined;
  }
}

async function* records(lines: RawRecords, columns: Columns, encoding: () => EncodingChoice): AsyncGenerator<CsvRecord | CsvProblem> {
  const { headers } = columns;
  let row = 0;
  try {
    for (;;) {
      const item = lines.take();
      if (item === undefined) {
        if (await lines.more()) continue;
        return;
      }
      row++;
      if (item.kind === 'problem') {
        yield problem(row, item.line, item.message);
        continue;
      }
      const shape = columns.problem(item.cells);
      if (shape !== undefined) {
        yield problem(row, item.line, shape);
        continue;
      }
      // Damaged bytes were decoded to U+FFFD: the row fails rather than carry it into a user id,
      // a path or the ledger.
      const damaged = item.cells.findIndex((cell) => cell.includes(REPLACEMENT));
      if (damaged !== -1) {
        const column = headers[damaged] ? JSON.stringify(headers[damaged]) : `${damaged + 1}`;
        yield {
          row,
          line: item.line,
          error: new RowError(
            'invalid_encoding',
            `line ${item.line}: the ${column} cell is not valid ${encoding().name} (it reads ${JSON.stringify(readable(item.cells[damaged]!))}); fix the bytes or choose the encoding with --encoding`,
          ),
        };
        continue;
      }
      // No prototype: a column named "__proto__" or "constructor" is just a column.
      const fields: Record<string, string> = Object.create(null);
      for (let i = 0; i < headers.length && i < item.cells.length; i++) {
        // An unnamed column (a trailing delimiter in the header) cannot be referred to, so its
        // cells are left out rather than all overwriting one "" key.
        if (headers[i] !== '') fields[headers[i]!] = item.cells[i]!;
      }
      yield { row, line: item.line, fields };
    }
  } finally {
    await lines.close();
  }
}

function problem(row: number, line: number, message: string): CsvProblem {
  return { row, line, error: new RowError('malformed_record', `line ${line}: ${message}`) };
}
