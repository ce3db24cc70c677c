// The parser's items as records numbered by line, before they are checked against the header.
// Taken one at a time from the batch in hand (the parser yields a chunk's items at once), so that
// a record costs csv.ts one async step, not one per stage.

import type { Parsed } from './parser.js';
import { countLineBreaks, leadingBlankLines, quotingProblem } from './raw.js';

/** A record as read, before it is checked against the header. */
export type RawRecord =
  | { kind: 'cells'; line: number; cells: string[] }
  | { kind: 'problem'; line: number; message: string };

/**
 * Numbers lines and judges quoting. Blank records — nothing but spaces and empty cells, as
 * spreadsheets pad their exports with ",,,," rows — are skipped like blank lines, so they neither
 * fail nor take a row number.
 */
export class RawRecords {
  readonly #parsed: AsyncIterator<Parsed[]>;
  readonly #delimiter: string;
  readonly #skipRows: RegExp | undefined;
  #batch: Parsed[] = [];
  #next = 0;
  // Line breaks consumed before the next record's raw text begins.
  #linesBefore: number;
  #header = true;
  /** Reading stopped for good (a runaway field): nothing more is taken. */
  #stopped = false;

  constructor(parsed: AsyncIterator<Parsed[]>, delimiter: string, skippedLines: number, skipRows: RegExp | undefined) {
    this.#parsed = parsed;
    this.#delimiter = delimiter;
    this.#linesBefore = skippedLines;
    this.#skipRows = skipRows;
  }

  /** The next record among the items in hand; undefined once they are used up (see more()). */
  take(): RawRecord | undefined {
    while (!this.#stopped && this.#next < this.#batch.length) {
      const record = this.#judge(this.#batch[this.#next++]!);
      if (record !== undefined) return record;
    }
    return undefined;
  }

  /** Waits for the parser's next items; false when there are no more. */
  async more(): Promise<boolean> {
    if (this.#stopped) return false;
    const next = await this.#parsed.next();
    if (next.done) return false;
    this.#batch = next.value;
    this.#next = 0;
    return true;
  }

  /** The first record, waiting for items as needed; undefined when there is none. */
  async first(): Promise<RawRecord | undefined> {
    for (;;) {
      const record = this.take();
      if (record !== undefined) return record;
      if (!(await this.more())) return undefined;
    }
  }

  /** Stops the parser (and so the source). */
  async close(): Promise<void> {
    await this.#parsed.return?.();
  }

  /** The record an item makes, or undefined for one skipped. */
  #judge(item: Parsed): RawRecord | undefined {
    if ('runaway' in item) {
      this.#stopped = true;
      return {
        kind: 'problem',
        line: this.#linesBefore + 1,
        message: `a field that starts here runs on for more than ${item.runaway} bytes (a quote that is never closed?); the rest of the file was not read`,
      };
    }
    const blank = leadingBlankLines(item.raw);
    const line = this.#linesBefore + blank.lines + 1;
    this.#linesBefore += countLineBreaks(item.raw);
    // The header is never dropped: a pattern meant for a footer must not take the columns away.
    if (!this.#header && this.#skipRows && this.#skipRows.test(item.raw.slice(blank.offset).replace(/[\r\n]+$/, ''))) return undefined;
    if ('unparsable' in item) {
      const reason = /quote not closed/i.test(item.unparsable)
        ? 'a quoted field is never closed before the end of the file'
        : item.unparsable;
      return { kind: 'problem', line, message: reason };
    }
    if (item.record.every((cell) => cell.trim() === '')) return undefined;
    this.#header = false;
    if (item.raw.includes('"')) {
      const bad = quotingProblem(item.raw, this.#delimiter, blank.offset);
      if (bad !== undefined) return { kind: 'problem', line, message: `bad quoting in field ${bad.field + 1}: ${bad.reason}` };
    }
    // Trimmed here, once, for every column: HR exports carry stray spaces around ids, file
    // names and e-mail addresses, none of the values this tool reads (id, image, template
    // columns) means anything by them, and trimming in one place keeps the ledger's user key,
    // the file looked up and the id built by a template in agreement.
    return { kind: 'cells', line, cells: item.record.map((cell) => cell.trim()) };
  }
}
