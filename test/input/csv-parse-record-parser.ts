// The record parser as it was before the quick path for quote-free lines (parser.ts): csv-parse
// alone, with the tool's csv-parse options, as the oracle the property tests compare the quick path
// against.
// Not used by the tool.

import type { TransformCallback } from 'node:stream';
import { Parser } from 'csv-parse';
import { csvParseOptions, MAX_FIELD_BYTES, type Parsed } from '../../src/input/parser.js';

/** A csv-parse stream whose readable side yields `Parsed` items in input order. */
export class CsvParseRecordParser extends Parser {
  #received = 0;
  #runaway = false;
  readonly #maxFieldBytes: number;

  constructor(delimiter: string, maxFieldBytes = MAX_FIELD_BYTES) {
    // on_skip runs inside parse(), in input order, so pushing from it keeps the problem between
    // the records before and after it. It needs the instance, which exists only after super().
    const self: { parser?: CsvParseRecordParser } = {};
    // The product's options (parser.ts), so that the oracle is csv-parse exactly as the tool sets
    // it up.
    super(csvParseOptions(delimiter, true, (item) => self.parser!.push(item)));
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
