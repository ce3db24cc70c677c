// When --remove-missing may run at all, decided before anything is read or sent (exit 2). Leavers
// are inferred from who is *absent*, so anything that shows the run only part of the people would
// turn into mass removals: a shard, an onboarding wave, a CSV that cannot be read twice.
import { UsageError } from '../errors.js';
import type { TargetSettings } from '../options/settings.js';
import type { Target } from '../targets/target.js';

export interface LeaversUsage {
  /** `--shard` is given. */
  readonly sharded: boolean;
  /** The CSV comes from standard input (it is read twice: once to learn who is in it). */
  readonly fromStdin: boolean;
}

export function checkRemoveMissing(built: readonly { readonly wanted: TargetSettings; readonly target: Target }[], usage: LeaversUsage): void {
  for (const { wanted, target } of built) {
    const { removeMissing, maxRemovals, onlyNew } = wanted.values.run;
    const where = built.length > 1 ? ` (target ${target.id})` : '';
    if (!removeMissing) {
      if (maxRemovals !== undefined) throw new UsageError(`--max-removals caps --remove-missing${where}: give --remove-missing too, or leave --max-removals out`);
      continue;
    }
    if (usage.sharded) {
      throw new UsageError(`--remove-missing cannot run with --shard${where}: a shard sees only part of the CSV, so everyone in the other shards would look like a leaver; run the leavers unsharded (one pass over the full export)`);
    }
    if (usage.fromStdin) {
      throw new UsageError(`--remove-missing needs the CSV as a file${where}: it is read once to learn who is in it before anything is sent, and standard input cannot be read twice`);
    }
    if (onlyNew) {
      throw new UsageError(`--remove-missing and --only-new do not go together${where}: an onboarding wave only adds; run the leavers on a run without --only-new`);
    }
    if (!target.features.remove || !target.features.restore) {
      throw new UsageError(`--remove-missing is not available for ${target.id} yet (${target.name} cannot remove or restore avatars in this version); nothing was sent`);
    }
  }
}
