import type { RowLine } from '../ledger/lines.js';
import { isCarriedOver } from './novelty.js';

// What the reports (contact sheet, failed-rows file, JSON log, --json summary) learn from a run.
// They consume these events and nothing else, so they do not care how the pipeline is shaped and
// can be fed from a live run or from a ledger read afterwards (`ledger preview`).

/** One row's outcome, as it finishes. */
export interface RowEvent {
  /** The ledger line that was (or, in a dry run, would have been) written. */
  readonly line: RowLine;
  /** The CSV record's cells by header; absent when the record could not be read. */
  readonly fields?: Readonly<Record<string, string>>;
  /**
   * A small JPEG of the source photo (thumbnail.ts), made while the row held the source bytes so
   * that no report keeps a whole photo in memory; absent when the row read no source or it could
   * not be shown.
   */
  readonly sourcePreview?: Buffer;
  /** The avatar exactly as it was (or would be) sent, when this row produced one. */
  readonly avatar?: Buffer;
  /** Source bytes this row read from disk or the network (for the MB/s rate). */
  readonly bytesRead?: number;
  /** The user's latest line on this target before this row, when the ledger had one. */
  readonly previous?: RowLine;
}

/** A report that follows a run row by row. `row` may be awaited: it is back-pressure. */
export interface RowSink {
  row(event: RowEvent): void | Promise<void>;
}

/** Whether a failed row failed the same way last time, with the same input: novelty.ts holds the
 * one rule, which the text summary and the exit code use too. */
export function carriedOver(event: RowEvent): boolean {
  return isCarriedOver(event.previous, event.line);
}

/** A RowSink that may also want a thumbnail of each source while the row holds its bytes. */
export interface RowReporter extends RowSink {
  readonly wantsSourcePreview: boolean;
  sourcePreview(bytes: Buffer): Promise<Buffer | undefined>;
}
