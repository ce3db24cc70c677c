// The CSV's records, configured so that one bad record can never take the rest of the file with
// it: csv-parse reads them, except lines without a quote, which plain-lines.ts reads for a
// fraction of the cost, to the same result.

import { Transform, type TransformCallback } from 'node:stream';
import { Parser, type Options } from 'csv-parse';
import { readPlainLines } from './plain-lines.js';

/**
 * A field this long is not an HR value but a quote that never closes (or a file that is not a
 * CSV): past it the parser stops reading, so memory stays bounded instead of growing to the size
 * of the rest of the file. Generous, because stopping ends the whole file: even a photo pasted
 * into a cell as a data: URL (refused later, but only that row) stays well below it.
 */
export const MAX_FIELD_BYTES = 8 * 1024 * 1024;

export type Parsed =
  /** A record: raw fields (csv-parse relaxed quotes and column counts; csv.ts judges them). */
  | { record: string[]; raw: string }
  /** A record csv-parse gave up on: only a quote still open at the end of the input. */
  | { unparsable: string; raw: string }
  /** Reading stopped because a field outgrew MAX_FIELD_BYTES. */
  | { runaway: number };

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const EMPTY = Buffer.alloc(0);
const LONG_LINE_BYTES = 64 * 1024;

/**
 * A stream whose readable side yields `Parsed` items in input order, exactly as csv-parse (with
 * the options below) would yield them for the whole input: those of a chunk in one array, so
 * that the stream's machinery runs once a chunk rather than once a record.
 *
 * Lines without a quote are read by readPlainLines. A quote hands the input to csv-parse from the
 * start of that record (a fresh csv-parse there is in the state one that had read everything
 * before would be in), and the input comes back once csv-parse has read a record to its end past
 * the last quote in sight. The chunk-by-chunk rhythm is csv-parse's too: it keeps the last two
 * bytes it was given for later (a CR may be a CRLF's), and so does the quick path, so a record
 * comes out after the same chunk either way.
 */
export class RecordParser extends Transform {
  readonly #delimiter: string;
  /** The delimiter's byte, or -1 when csv-parse reads everything (a delimiter outside ASCII). */
  readonly #delimiterByte: number;
  readonly #maxFieldBytes: number;
  /**
   * Bytes since the last record beyond which csv-parse is given them: a line this long is no HR
   * record (csv-parse takes it in once, where the quick path would read it again with each
   * chunk), or may hold a field over the limit, which csv-parse tells exactly.
   */
  readonly #handOverBytes: number;
  /** Bytes received and not yet read nor given to csv-parse, and where they start in the input. */
  #pending: Buffer = EMPTY;
  #pendingAt = 0;
  /** Where the last record read by the quick path (or csv-parse, before handing back) ends. */
  #recordEnd = 0;
  #bomChecked = false;
  /** A UTF-8 BOM's length, when the input starts with one (csv-parse drops it). */
  #bomLength = 0;
  /** csv-parse, while it has the input. */
  #segment: CsvParseSegment | undefined;
  /** Once set (a UTF-16 BOM, a delimiter outside ASCII), csv-parse keeps the input to the end. */
  #csvParseOnly: boolean;
  #received = 0;
  #runaway = false;

  constructor(delimiter: string, maxFieldBytes = MAX_FIELD_BYTES) {
    // One item a chunk (its records, in an array), and one waiting at most: the next chunk is
    // parsed once the reader has taken the last one's.
    super({ readableObjectMode: true, readableHighWaterMark: 1 });
    this.#delimiter = delimiter;
    const code = delimiter.length === 1 ? delimiter.charCodeAt(0) : -1;
    this.#delimiterByte = code >= 0 && code < 0x80 ? code : -1;
    this.#csvParseOnly = this.#delimiterByte === -1;
    this.#maxFieldBytes = maxFieldBytes;
    this.#handOverBytes = Math.min(LONG_LINE_BYTES, maxFieldBytes);
  }

  /** Whether reading should stop: the current field outgrew the limit. */
  get stopped(): boolean {
    return this.#runaway;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#runaway) {
      callback();
      return;
    }
    this.#received += chunk.length;
    try {
      this.#read(chunk, false);
      this.#flushBatch();
      // csv-parse's count, when it has the input; otherwise there are no more bytes since the last
      // record than #handOverBytes, so no field is longer.
      if (this.#segment && this.#segment.unsettled > this.#maxFieldBytes) this.#runaway = true;
    } catch (error) {
      // (csv-parse, as configured, reports nothing this way; if it did, what came before stays.)
      this.#flushBatch();
      callback(error as Error);
      return;
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.#runaway) {
      // The half-read record is dropped rather than parsed: it would come out as a truncated
      // value that might even look valid.
      this.push([{ runaway: this.#maxFieldBytes }] satisfies Parsed[]);
      callback();
      return;
    }
    try {
      this.#read(EMPTY, true);
      this.#flushBatch();
    } catch (error) {
      this.#flushBatch();
      callback(error as Error);
      return;
    }
    callback();
  }

  /** Reads what `chunk` completes; `end`: the input ended, read it all. */
  #read(chunk: Buffer, end: boolean): void {
    const bytes = this.#pending.length === 0 ? chunk : chunk.length === 0 ? this.#pending : Buffer.concat([this.#pending, chunk]);
    const base = this.#pendingAt;
    this.#pending = EMPTY;
    if (!this.#bomChecked) {
      // csv-parse waits for three bytes before it looks for a BOM.
      if (bytes.length < 3 && !end) {
        if (bytes.length <= this.#handOverBytes) {
          this.#pending = bytes;
          return;
        }
        this.#csvParseOnly = true;
      }
      this.#bomChecked = true;
      // A UTF-16LE BOM switches csv-parse to UTF-16 (only --encoding utf-8 on such a file gets here).
      if (bytes[0] === 0xff && bytes[1] === 0xfe) this.#csvParseOnly = true;
      else if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) this.#bomLength = 3;
      if (this.#csvParseOnly) this.#segment = new CsvParseSegment(this.#delimiter, true, this.#sink);
    }
    // The pending bytes start where the input is to be read from: at a record's end, or where
    // csv-parse was given everything before them.
    let at = 0;
    for (;;) {
      if (this.#segment) {
        const back = this.#readWithCsvParse(bytes, at, end);
        if (back === undefined) {
          this.#pendingAt = base + bytes.length;
          return;
        }
        this.#segment = undefined;
        at = back;
        this.#recordEnd = base + back;
      }
      const from = Math.max(this.#recordEnd, this.#bomLength) - base;
      const limit = end ? bytes.length : bytes.length - 2;
      const quote = bytes.indexOf(QUOTE, from);
      const read = readPlainLines(bytes, from, quote === -1 ? limit : Math.min(quote, limit), end && quote === -1, this.#delimiterByte, this.#sink);
      if (read !== from) this.#recordEnd = base + read;
      at = this.#recordEnd - base;
      if ((quote !== -1 && quote < limit) || bytes.length - at > this.#handOverBytes) {
        // csv-parse takes over at the end of the last record: the blank lines after it belong to
        // the next one's raw text. At the very start it is given the BOM too, to drop itself.
        this.#segment = new CsvParseSegment(this.#delimiter, this.#recordEnd === 0, this.#sink);
        continue;
      }
      this.#pending = bytes.subarray(at);
      this.#pendingAt = this.#recordEnd;
      return;
    }
  }

  /**
   * Gives csv-parse `bytes` from `at`. Returns where the quick path can take over again (a record
   * end csv-parse has reached, with no quote after it in these bytes), or undefined when
   * csv-parse was given everything and keeps the input.
   */
  #readWithCsvParse(bytes: Buffer, at: number, end: boolean): number | undefined {
    const segment = this.#segment!;
    if (end || this.#csvParseOnly) {
      segment.feed(bytes.subarray(at));
      if (end) segment.finish();
      return undefined;
    }
    // The first line break after the last quote, where csv-parse is expected to end a record:
    // it is given two bytes past it (it keeps two back), and whether it ended one there is in
    // its count of bytes settled.
    const limit = bytes.length - 2;
    const quote = limit > at ? bytes.lastIndexOf(QUOTE, limit - 1) : -1;
    const breakAt = lineBreak(bytes, quote >= at ? quote + 1 : at, limit);
    if (breakAt !== -1) {
      const next = breakAt + (bytes[breakAt] === CR && bytes[breakAt + 1] === LF ? 2 : 1);
      if (next + 2 <= bytes.length) {
        segment.feed(bytes.subarray(at, next + 2));
        if (segment.unsettled === 2) return next;
        at = next + 2;
      }
    }
    segment.feed(bytes.subarray(at));
    return undefined;
  }

  /** The items read from the chunk being parsed. */
  #batch: Parsed[] = [];

  readonly #sink = (item: Parsed): void => {
    this.#batch.push(item);
  };

  #flushBatch(): void {
    if (this.#batch.length === 0) return;
    this.push(this.#batch);
    this.#batch = [];
  }
}

/** The first CR or LF in bytes[from, to), or -1. */
function lineBreak(bytes: Buffer, from: number, to: number): number {
  const lf = bytes.indexOf(LF, from);
  const cr = bytes.indexOf(CR, from);
  const first = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
  return first !== -1 && first < to ? first : -1;
}

/**
 * csv-parse, fed directly by RecordParser from a record's start (not as a stream of its own):
 * what it reads goes to `sink`.
 */
class CsvParseSegment extends Parser {
  readonly #sink: (item: Parsed) => void;
  #fed = 0;

  constructor(delimiter: string, bom: boolean, sink: (item: Parsed) => void) {
    super(csvParseOptions(delimiter, bom, sink));
    this.#sink = sink;
  }

  /** Bytes given to it that it has not yet seen a delimiter or a record's end after. */
  get unsettled(): number {
    return this.#fed - this.info.bytes;
  }

  feed(bytes: Buffer): void {
    this.#fed += bytes.length;
    this._transform(bytes, 'buffer' as BufferEncoding, rethrow);
  }

  finish(): void {
    this._flush(rethrow);
  }

  override push(item: unknown): boolean {
    if (item !== null) this.#sink(item as Parsed);
    return true;
  }
}

function rethrow(error?: Error | null): void {
  if (error) throw error;
}

/** How csv-parse is set up wherever it reads (also the tests' oracle, csv-parse alone). */
export function csvParseOptions(delimiter: string, bom: boolean, sink: (item: Parsed) => void): Options {
  return {
    delimiter,
    bom,
    raw: true,
    // Explicit rather than auto-discovered: auto-discovery fixes the first line's ending for the
    // whole file, and a file edited in two tools (CRLF, then LF lines appended) merges lines.
    record_delimiter: ['\r\n', '\n', '\r'],
    skip_empty_lines: true,
    // csv-parse's strict quote errors leave it inside a quoted field, swallowing every line up
    // to the next quote; relaxed, the damage stays in one record and raw.ts reports it.
    relax_quotes: true,
    // Hand-edited files write `Jane, "Doe, J", jd`: the space before the quote must not turn
    // the quoted value into a broken unquoted one. (Not `trim`: its error for text after a
    // closing quote drops the rest of the chunk in skip mode, records and all.)
    ltrim: true,
    relax_column_count: true,
    skip_records_with_error: true,
    // on_skip runs inside parse(), in input order, so pushing from it keeps the problem between
    // the records before and after it.
    on_skip: (error, raw) => {
      sink({ unparsable: error?.message ?? 'unparsable record', raw: raw ?? '' });
      return undefined;
    },
  };
}
