// What the rest of the tool sees of an HR export, whether it came as CSV (csv.ts) or as an Excel
// workbook (xlsx.ts): a header and a lazy stream of records numbered as the user sees them.

import type { RowError } from '../errors.js';

/** row: 1-based data record number (header not counted); line: the line (CSV) or sheet row (xlsx)
 * where the record starts, as an editor or spreadsheet shows it. */
export interface TableRecord { row: number; line: number; fields: Record<string, string> }
/** A record that could not be read; `error` is a RowError (malformed_record, invalid_encoding) naming the line. */
export interface TableProblem { row: number; line: number; error: RowError }

export interface TableInput {
  readonly headers: string[];
  /**
   * Pulled lazily: back-pressure is the consumer's pace. Iterate once; leaving the loop early
   * closes the source.
   */
  readonly records: AsyncIterable<TableRecord | TableProblem>;
  /**
   * The columns the run reads. Called before iterating, it lets rows with fewer fields than the
   * header through as long as these are present (exports drop trailing empty cells); until then
   * every column is required.
   */
  useColumns(columns: readonly string[]): void;
  /** Bytes taken from the source so far (for progress and ETA against the file's size). */
  bytesRead(): number;
}
