// Lines without a quote, read without csv-parse. Most HR exports quote nothing, and csv-parse
// examines every byte against every option it has (about a tenth of a nightly run's main
// thread). On text without a quote, the options parser.ts gives it (ltrim, skip_empty_lines,
// CRLF/LF/CR record delimiters, raw) come down to what this does: split each line on the
// delimiter. The result is csv-parse's to the byte (test/input/parser.test.ts compares the two on
// generated CSV); anything with a quote in it is left to csv-parse.

import type { Parsed } from './parser.js';

const LF = 0x0a;
const CR = 0x0d;
// What csv-parse's ltrim skips at the start of a field (line breaks end the record first).
const SPACE = 0x20;
const TAB = 0x09;
const FORM_FEED = 0x0c;

/**
 * Reads the records of `bytes` from `from`, a record's start, as csv-parse would: the lines whose
 * line break starts before `to` and, when `final` (the input ends with `bytes`), the last line
 * without one. Every byte of those lines must be quote-free. A record's cells are decoded from
 * their own bytes (as csv-parse decodes them: not slices of a larger string that a cell kept for
 * the whole run would keep alive).
 *
 * Returns where the last record read ends. Blank lines after it (nothing but ltrim's blanks)
 * are not consumed: csv-parse counts them into the raw text of the record after them, which
 * may be read by csv-parse.
 */
export function readPlainLines(
  bytes: Buffer,
  from: number,
  to: number,
  final: boolean,
  delimiter: number,
  push: (item: Parsed) => void,
): number {
  const length = bytes.length;
  let recordEnd = from;
  // Raw text of the blank lines since the last record: the raw text of the next one starts with
  // it. csv-parse drops the LF of a CRLF from raw text, so it is kept line by line.
  let blanks = '';
  let line = from;
  while (line < length) {
    const record: string[] = [];
    let start = line;
    let trimming = true;
    let end = line;
    for (; end < length; end++) {
      const byte = bytes[end]!;
      if (byte === LF || byte === CR) break;
      if (byte === delimiter) {
        record.push(bytes.toString(undefined, start, end));
        start = end + 1;
        trimming = true;
      } else if (trimming) {
        if (byte === SPACE || byte === TAB || byte === FORM_FEED) start = end + 1;
        else trimming = false;
      }
    }
    if (end === length) {
      // No line break: only the end of the input ends this line.
      if (!final || (record.length === 0 && start === end)) break;
      record.push(bytes.toString(undefined, start, end));
      push({ record, raw: blanks + bytes.toString(undefined, line, end) });
      return end;
    }
    if (end >= to) break;
    const next = end + (bytes[end] === CR && bytes[end + 1] === LF ? 2 : 1);
    // The raw text keeps the first byte of the line break.
    if (record.length === 0 && start === end) {
      blanks += bytes.toString(undefined, line, end + 1);
    } else {
      record.push(bytes.toString(undefined, start, end));
      push({ record, raw: blanks + bytes.toString(undefined, line, end + 1) });
      blanks = '';
      recordEnd = next;
    }
    line = next;
  }
  return recordEnd;
}
