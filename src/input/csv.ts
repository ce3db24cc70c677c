// The CSV as a lazy stream of records. Nothing here holds more than the record being read: the
// source is pulled only as fast as the consumer takes records (stream back-pressure through
// Readable.from → csv-parse → the async iterator), which is what keeps memory flat on a
// 1 000 000-row file.

import { Readable, pipeline } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { RowError, UsageError } from '../errors.js';
import { listHeaders } from './columns.js';
import { detectDelimiter, parseDelimiterOption, peekFirstLine } from './delimiter.js';
import { RecordParser, type Parsed } from './parser.js';
import { countLineBreaks, leadingBlankLines, quotingProblem } from './raw.js';

// Part of this module's surface; it lives with the name-matching rules templates share.
export { pickColumns } from './columns.js';

/** row: 1-based data record number (header not counted); line: physical line where the record starts. */
export interface CsvRecord { row: number; line: number; fields: Record<string, string> }
/** A record that could not be read; `error` is a RowError('malformed_record') naming the line. */
export interface CsvProblem { row: number; line: number; error: RowError }

export interface CsvInput {
  headers: string[];
  delimiter: string;
  /** The file's encoding as iconv-lite names it (the failed-rows report is written in it);
   * undefined: UTF-8. */
  encoding?: string;
  /**
   * Pulled lazily: back-pressure is the consumer's pace. Iterate once; leaving the loop early
   * closes the source.
   */
  records: AsyncIterable<CsvRecord | CsvProblem>;
  /** Bytes taken from the source so far (for progress and ETA against the file's size). */
  bytesRead(): number;
}

export async function openCsv(source: NodeJS.ReadableStream, options: { delimiter?: string } = {}): Promise<CsvInput> {
  const explicit = options.delimiter === undefined ? undefined : parseDelimiterOption(options.delimiter);
  const chunks = source[Symbol.asyncIterator]();
  let bytesRead = 0;
  const count = (bytes: number): void => { bytesRead += bytes; };

  const peeked = await peekFirstLine(chunks, count);
  if (peeked.firstLine === undefined) {
    close(source);
    throw new UsageError('the CSV is empty: expected a header line naming the columns');
  }
  const delimiter = explicit ?? detectDelimiter(peeked.firstLine);

  const parser = new RecordParser(delimiter);
  const utf8 = toUtf8(peeked.encoding);
  async function* feed(): AsyncGenerator<Buffer> {
    for (const chunk of peeked.chunks) yield utf8(chunk);
    while (!parser.stopped) {
      const next = await chunks.next();
      if (next.done) break;
      const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
      count(chunk.length);
      yield utf8(chunk);
    }
    const rest = utf8(undefined);
    if (rest.length > 0) yield rest;
  }
  // Errors (a failing source) reach the consumer through the parser's iterator.
  pipeline(Readable.from(feed(), { objectMode: false }), parser, () => {});
  // However parsing ends — read to the end, the consumer left the loop, a runaway field — the
  // source is closed when the parser is. Destroyed, not asked to return(): feed() may be waiting
  // on the source's iterator for input that never comes (a quiet stdin), and an async iterator
  // queues return() behind that wait.
  parser.once('close', () => close(source));

  const items = reader(parser[Symbol.asyncIterator]() as AsyncIterator<Parsed>, delimiter);
  let headers: string[];
  try {
    const first = await items.next();
    if (first.done) throw new UsageError('the CSV is empty: expected a header line naming the columns');
    if (first.value.kind === 'problem') throw new UsageError(`the header line could not be read: ${first.value.message}`);
    headers = first.value.cells;
    checkHeaders(headers);
  } catch (error) {
    await items.return();
    throw error;
  }

  return {
    headers,
    delimiter,
    encoding: peeked.encoding,
    records: records(items, headers),
    bytesRead: () => bytesRead,
  };
}

function close(source: NodeJS.ReadableStream): void {
  const destroy = (source as Partial<Readable>).destroy;
  if (typeof destroy === 'function') destroy.call(source);
  else source.pause();
}

/**
 * csv-parse's raw text (which numbers lines and checks quoting) is only right for single-byte
 * line breaks, so UTF-16 is turned into UTF-8 before it; the BOM goes along and is dropped there.
 * Called with undefined at the end, to flush a half character.
 */
function toUtf8(encoding: 'utf8' | 'utf16le'): (chunk: Buffer | undefined) => Buffer {
  if (encoding === 'utf8') return (chunk) => chunk ?? Buffer.alloc(0);
  const decoder = new StringDecoder('utf16le');
  return (chunk) => Buffer.from(chunk === undefined ? decoder.end() : decoder.write(chunk), 'utf8');
}

function checkHeaders(headers: string[]): void {
  const seen = new Map<string, string>();
  const duplicates: string[] = [];
  for (const header of headers) {
    if (header === '') continue;
    // Case-insensitive because every lookup by name is (columns.ts): "Email" and "email" could
    // not be told apart by --id-column or a template.
    const key = header.toLowerCase();
    const earlier = seen.get(key);
    if (earlier !== undefined) duplicates.push(earlier === header ? header : `${earlier}/${header}`);
    else seen.set(key, header);
  }
  if (duplicates.length > 0) {
    throw new UsageError(`the CSV header names a column more than once: ${listHeaders(duplicates)}; the headers are ${listHeaders(headers)}`);
  }
}

/** A record as read, before it is checked against the header. */
type RawRecord =
  | { kind: 'cells'; line: number; cells: string[] }
  | { kind: 'problem'; line: number; message: string };

/**
 * Numbers lines and judges quoting. Blank records — nothing but spaces and empty cells, as
 * spreadsheets pad their exports with ",,,," rows — are skipped like blank lines, so they neither
 * fail nor take a row number.
 */
async function* reader(parsed: AsyncIterator<Parsed>, delimiter: string): AsyncGenerator<RawRecord, void, undefined> {
  // Line breaks consumed before the next record's raw text begins.
  let linesBefore = 0;
  try {
    for (let next = await parsed.next(); !next.done; next = await parsed.next()) {
      const item = next.value;
      if ('runaway' in item) {
        yield {
          kind: 'problem',
          line: linesBefore + 1,
          message: `a field that starts here runs on for more than ${item.runaway} bytes (a quote that is never closed?); the rest of the file was not read`,
        };
        return;
      }
      const blank = leadingBlankLines(item.raw);
      const line = linesBefore + blank.lines + 1;
      linesBefore += countLineBreaks(item.raw);
      if ('unparsable' in item) {
        const reason = /quote not closed/i.test(item.unparsable)
          ? 'a quoted field is never closed before the end of the file'
          : item.unparsable;
        yield { kind: 'problem', line, message: reason };
        continue;
      }
      if (item.record.every((cell) => cell.trim() === '')) continue;
      if (item.raw.includes('"')) {
        const bad = quotingProblem(item.raw, delimiter, blank.offset);
        if (bad !== undefined) {
          yield { kind: 'problem', line, message: `bad quoting in field ${bad.field + 1}: ${bad.reason}` };
          continue;
        }
      }
      // Trimmed here, once, for every column: HR exports carry stray spaces around ids, file
      // names and e-mail addresses, none of the values this tool reads (id, image, template
      // columns) means anything by them, and trimming in one place keeps the ledger's user key,
      // the file looked up and the id built by a template in agreement.
      yield { kind: 'cells', line, cells: item.record.map((cell) => cell.trim()) };
    }
  } finally {
    await parsed.return?.();
  }
}

async function* records(lines: AsyncGenerator<RawRecord, void, undefined>, headers: string[]): AsyncGenerator<CsvRecord | CsvProblem> {
  let row = 0;
  for await (const item of lines) {
    row++;
    if (item.kind === 'problem') {
      yield problem(row, item.line, item.message);
    } else if (item.cells.length !== headers.length) {
      yield problem(row, item.line, `expected ${headers.length} fields as in the header, found ${item.cells.length}`);
    } else {
      // No prototype: a column named "__proto__" or "constructor" is just a column.
      const fields: Record<string, string> = Object.create(null);
      for (let i = 0; i < headers.length; i++) {
        // An unnamed column (a trailing delimiter in the header) cannot be referred to, so its
        // cells are left out rather than all overwriting one "" key.
        if (headers[i] !== '') fields[headers[i]] = item.cells[i];
      }
      yield { row, line: item.line, fields };
    }
  }
}

function problem(row: number, line: number, message: string): CsvProblem {
  return { row, line, error: new RowError('malformed_record', `line ${line}: ${message}`) };
}
