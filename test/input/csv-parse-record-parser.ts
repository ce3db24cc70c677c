// The record parser as it was before the quick path for quote-free lines (parser.ts): csv-parse
// alone, copied here unchanged as the oracle the property tests compare the quick path against.
// Not used by the tool.

import type { TransformCallback } from 'node:stream';
import { Parser } from 'csv-parse';

/**
 * A field this long is not an HR value but a quote that never closes (or a file that is not a
 * CSV): past it the parser stops reading, so memory stays bounded instead of growing to the size
 * of the rest of the file. Generous, because stopping ends the whole file: even a photo pasted
 * into a cell as a data: URL (refused later, but only that row) stays well below it.
 */
const MAX_FIELD_BYTES = 8 * 1024 * 1024;

type Parsed =
  /** A record: raw fields (csv-parse relaxed quotes and column counts; csv.ts judges them). */
  | { record: string[]; raw: string }
  /** A record csv-parse gave up on: only a quote still open at the end of the input. */
  | { unparsable: string; raw: string }
  /** Reading stopped because a field outgrew MAX_FIELD_BYTES. */
  | { runaway: number };

/** A csv-parse stream whose readable side yields `Parsed` items in input order. */
export class CsvParseRecordParser extends Parser {
  #received = 0;
  #runaway = false;
  readonly #maxFieldBytes: number;

  constructor(delimiter: string, maxFieldBytes = MAX_FIELD_BYTES) {
    // on_skip runs inside parse(), in input order, so pushing from it keeps the problem between
    // the records before and after it. It needs the instance, which exists only after super().
    const self: { parser?: CsvParseRecordParser } = {};
    super({
      delimiter,
      bom: true,
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
      on_skip: (error, raw) => {
        self.parser!.push({ unparsable: error?.message ?? 'unparsable record', raw: raw ?? '' } satisfies Parsed);
        return undefined;
      },
    });
    self.parser = this;
    this.#maxFieldBytes = maxFieldBytes;
  }

  /** Whether reading should stop: the current field outgrew the limit. */
  get stopped(): boolean {
    return this.#runaway;
  }

  override _transform(chunk: Buffer, encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#runaway) {
      callback();
      return;
    }
    this.#received += chunk.length;
    super._transform(chunk, encoding, (error?: Error | null) => {
      // info.bytes advances at every delimiter and line break outside quotes, so what was
      // received beyond it is the field still being read (plus a few bytes of look-ahead).
      if (!error && this.#received - this.info.bytes > this.#maxFieldBytes) this.#runaway = true;
      callback(error);
    });
  }

  override _flush(callback: TransformCallback): void {
    if (this.#runaway) {
      // The half-read record is dropped rather than parsed: it would come out as a truncated
      // value that might even look valid.
      this.push({ runaway: this.#maxFieldBytes } satisfies Parsed);
      callback();
      return;
    }
    super._flush(callback);
  }
}
