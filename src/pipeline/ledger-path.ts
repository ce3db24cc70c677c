// Which ledger file a target's history goes to: the one place that decides it (issue 10 moves the
// default to ledger/location.ts's chooseLedger: a one-line change here). Targets given the same
// file share one opened Ledger (lines are keyed by target and user, so they never collide).
import { resolve } from 'node:path';
import { legacyLedgerPath } from '../ledger/location.js';
import type { ChosenLedger } from '../ledger/location.js';
import type { Target } from '../targets/target.js';

export interface LedgerChoice {
  readonly target: Pick<Target, 'name' | 'id'>;
  /** --ledger, or `ledger:` at the top of a config file or in the target's entry. */
  readonly given: string | undefined;
  /** The CSV, or undefined when it comes from standard input. */
  readonly csvPath: string | undefined;
  readonly env: NodeJS.ProcessEnv;
}

/** The ledger, or undefined when there is nowhere to put one (standard input without --ledger:
 * only a dry run may do that, which plan() checks). */
export async function ledgerFor({ given, csvPath }: LedgerChoice): Promise<ChosenLedger | undefined> {
  if (given !== undefined) return { path: resolve(given) };
  // Today: beside the CSV, named after it, shared by every target of the run.
  return csvPath ? { path: legacyLedgerPath(csvPath) } : undefined;
}
