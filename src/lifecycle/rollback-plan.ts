// What rolling back one run means, read from the ledger alone (two streaming passes; memory grows
// with the run's changes, not with the ledger): for every (target, user) the run changed, its `ok`
// line (what it set, and `previous`, what it replaced), the line that had set that previous avatar
// (when the tool had: its hash and source are copied onto the rollback's line, so the next import
// of that CSV skips exactly as it did before the run), and what happened since.
import { UsageError } from '../errors.js';
import type { IntentLine, RowLine, RunLine } from '../ledger/lines.js';
import { isHeldRowLine } from '../ledger/lines.js';
import { readLines, readLinesAndIntents } from '../ledger/read.js';

export interface Change {
  /** The run's line: `remote` is what it set, `previous` what it replaced (absent: nothing). */
  readonly line: RowLine;
  /** The tool's own line that had set `previous`, when there is one. */
  before?: RowLine;
  /** A later line (not this rollback's) changed the avatar or says the target holds another. */
  changedSince: boolean;
  /** A rollback of this run already restored it (a rollback resumed after a crash). */
  undone: boolean;
  /** A rollback of this run began restoring it and no row line followed (killed in between): its
   * intent says what the target shows if that write landed. */
  pending?: IntentLine;
}

export interface RollbackPlan {
  readonly run: RunLine;
  /** In the run's row order. */
  readonly changes: Change[];
  /** The target ids the run changed, in first-seen order. */
  readonly targets: string[];
}

/** Options key of a rollback's run line: the run it undoes. */
export const ROLLBACK_OF = 'rollbackOf';

const keyOf = (line: Pick<RowLine, 'target' | 'user'>): string => `${line.target}\0${line.user}`;
const changedSomething = (line: RowLine): boolean => (line.status === 'ok' || (line.status as string) === 'removed') && line.reason !== 'dry_run';

export async function planRollback(ledger: string, runId: string, users?: ReadonlySet<string>): Promise<RollbackPlan> {
  let run: RunLine | undefined;
  const changes = new Map<string, Change>();
  for await (const line of readLines(ledger)) {
    if (line.type === 'run' && line.run === runId) run = line;
    if (line.type !== 'row' || line.run !== runId || !changedSomething(line)) continue;
    if (users && !users.has(line.user)) continue;
    changes.set(keyOf(line), { line, changedSince: false, undone: false });
  }
  if (!run) throw new UsageError(`the ledger ${ledger} has no run ${runId} (ids: avatar-import ledger runs --ledger ${ledger})`);

  // Pass 2: per key, the lines before the run's (the one that set `previous`) and after it.
  const rollbacks = new Set<string>();
  const passed = new Set<string>();
  for await (const line of readLinesAndIntents(ledger)) {
    if (line.type === 'run' && line.options?.[ROLLBACK_OF] === runId) rollbacks.add(line.run);
    if (line.type !== 'row' && line.type !== 'intent') continue;
    const key = keyOf(line);
    const change = changes.get(key);
    if (!change) continue;
    if (line.type === 'intent') {
      if (passed.has(key) && rollbacks.has(line.run) && line.restores !== undefined) change.pending = line;
      continue;
    }
    if (rollbacks.has(line.run)) delete change.pending;
    if (line.run === runId && changedSomething(line)) {
      passed.add(key);
      continue;
    }
    if (!passed.has(key)) {
      // `replaced`: the same avatar in `remote`'s form where `previous` names a kept image (Zulip).
      if (isHeldRowLine(line) && line.remote === (change.line.replaced ?? change.line.previous)) change.before = line;
      continue;
    }
    if (rollbacks.has(line.run)) {
      if (line.status === 'ok') change.undone = true;
      continue;
    }
    // A later run that found the avatar still in place (a skip carrying the same remote) or
    // failed without touching it is not a change; one that set or removed something, or says the
    // target holds something else, is.
    if (changedSomething(line) || (line.remote !== undefined && line.remote !== change.line.remote)) change.changedSince = true;
  }
  const list = [...changes.values()];
  return { run, changes: list, targets: [...new Set(list.map((change) => change.line.target))] };
}
