// Before a run with --remove-missing sends anything: read the export once to learn who is in it
// (refusing a damaged one), find each target's leavers in its ledger, and hold them against the
// cap. Past the cap the run stops here, exit 3, having imported and removed nothing: the cap is
// known up front, so half a run (imports done, removals refused) never happens.
import { basename } from 'node:path';
import { FatalError } from '../errors.js';
import type { Ledger } from '../ledger/ledger.js';
import type { Plan, PlannedTarget } from '../pipeline/plan.js';
import { findLeavers, type Leaver } from './leaver-candidates.js';
import { presentUsers } from './present-users.js';

/** The default cap: this share of the users the ledger knows on the target … */
export const DEFAULT_REMOVAL_SHARE = 0.05;
/** … and never below this many. */
export const MIN_DEFAULT_REMOVALS = 10;

/** How many users this many known users allow to be removed when --max-removals is not given. */
export function defaultMaxRemovals(known: number): number {
  return Math.max(MIN_DEFAULT_REMOVALS, Math.floor(known * DEFAULT_REMOVAL_SHARE));
}

/** How many leavers the cap message names. */
const NAMED = 5;

/** Target id → its leavers and cap, for the targets with --remove-missing (others are absent). Throws
 * UsageError for a damaged export, FatalError (exit 3) when a target's leavers pass its cap. */
export interface LeaversPlan {
  readonly leavers: readonly Leaver[];
  /** --max-removals, or the default for the users the ledger knows. */
  readonly cap: number;
}

export async function planLeavers(plan: Plan, ledgerOf: (planned: PlannedTarget) => Ledger): Promise<Map<string, LeaversPlan>> {
  const wanted = plan.targets.filter((planned) => planned.values.run.removeMissing);
  const result = new Map<string, LeaversPlan>();
  if (wanted.length === 0) return result;
  // plan() refused standard input already: the export can be read again.
  const csvName = plan.csvPath ? basename(plan.csvPath) : 'the CSV';
  const canonicalOf = (planned: PlannedTarget) => (user: string): string => planned.target.features.canonical?.(user) ?? user;
  const present = await presentUsers(await plan.reopen!(), wanted.map((planned) => ({ id: planned.target.id, userOf: planned.userOf, canonical: canonicalOf(planned) })), csvName);

  const over: string[] = [];
  for (const ledger of new Set(wanted.map(ledgerOf))) {
    const mine = wanted.filter((planned) => ledgerOf(planned) === ledger);
    const found = await findLeavers(ledger, mine.map((planned) => ({ id: planned.target.id, canonical: canonicalOf(planned), present: present.get(planned.target.id)! })));
    for (const planned of mine) {
      const { known, leavers } = found.get(planned.target.id)!;
      const given = planned.values.run.maxRemovals;
      const cap = given ?? defaultMaxRemovals(known);
      if (leavers.length > cap) {
        const named = leavers.slice(0, NAMED).map((leaver) => leaver.user).join(', ');
        over.push(
          `${leavers.length} user${leavers.length === 1 ? '' : 's'} of ${planned.target.id} ${leavers.length === 1 ? 'is' : 'are'} not in ${csvName} and would lose the avatar the tool set ` +
            `(${named}${leavers.length > NAMED ? ', …' : ''}), more than the cap of ${cap} ` +
            `(${given === undefined ? `the default: ${DEFAULT_REMOVAL_SHARE * 100} % of the ${known} users the ledger knows there, at least ${MIN_DEFAULT_REMOVALS}` : '--max-removals'})`,
        );
      }
      result.set(planned.target.id, { leavers, cap });
    }
  }
  if (over.length > 0) {
    const most = Math.max(...[...result.values()].map(({ leavers }) => leavers.length));
    throw new FatalError(
      'too_many_removals',
      `--remove-missing: ${over.join('; ')}. Nothing was imported or removed. Check that ${csvName} is the whole export; if they did leave, run again with --max-removals ${most}`,
    );
  }
  return result;
}
