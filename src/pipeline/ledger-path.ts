// Which ledger file a target's history goes to: the one place that decides it. Targets given the
// same file share one opened Ledger (lines are keyed by target and user, so they never collide).
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { Target } from '../targets/target.js';

export interface LedgerChoice {
  readonly target: Pick<Target, 'name' | 'id'>;
  /** --ledger, or `ledger:` at the top of a config file or in the target's entry. */
  readonly given: string | undefined;
  /** The CSV, or undefined when it comes from standard input. */
  readonly csvPath: string | undefined;
}

/** The ledger's path, or undefined when there is nowhere to put one (stdin, dry run). */
export function ledgerPathFor({ given, csvPath }: LedgerChoice): string | undefined {
  if (given !== undefined) return resolve(given);
  // Today: beside the CSV, named after it, shared by every target of the run.
  return csvPath ? join(dirname(csvPath), `${basename(csvPath, extname(csvPath))}.ledger.jsonl`) : undefined;
}
