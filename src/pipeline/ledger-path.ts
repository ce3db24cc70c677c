// Which ledger file a target's history goes to: the one place that decides it. By default the
// target's own place (ledger/location.ts): state follows the destination, not the input's file
// name, so a renamed export (workday_2026-12-01.csv) finds the same history. Targets given the
// same file share one opened Ledger (lines are keyed by target and user, so they never collide).
import { chooseLedger } from '../ledger/location.js';
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

/** The target's ledger, with a notice when an old-style `<csv>.ledger.jsonl` is used. */
export async function ledgerFor({ target, given, csvPath, env }: LedgerChoice): Promise<ChosenLedger> {
  return chooseLedger({ owner: target, ...(given === undefined ? {} : { explicit: given }), ...(csvPath ? { csvPath } : {}), env });
}
