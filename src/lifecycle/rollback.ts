// Rolling one run back: every avatar it changed is set back to what it replaced, on the target
// that run wrote to, unless it has changed since. Each user ends in one ledger line of the
// rollback's own run (`ok` with `previous` = what it replaced, so a rollback can be rolled back),
// and a rollback that is run again (after a crash) skips the users already restored.
import pLimit from 'p-limit';
import { isAvatarError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import type { ExitCode } from '../exit-codes.js';
import type { Ledger } from '../ledger/ledger.js';
import type { RowLine } from '../ledger/lines.js';
import { isHeldRowLine } from '../ledger/lines.js';
import type { Prior, Target } from '../targets/target.js';
import type { Change, RollbackPlan } from './rollback-plan.js';

export interface RollbackRun {
  readonly runId: string;
  readonly plan: RollbackPlan;
  /** Opened, by `Target.id`. */
  readonly targets: ReadonlyMap<string, { readonly target: Target; readonly concurrency: number }>;
  readonly ledger: Ledger;
  readonly force: boolean;
  readonly dryRun: boolean;
  readonly signal: AbortSignal;
  readonly redact: (text: string) => string;
  readonly onRow: (line: RowLine) => void;
}

export interface RollbackResult {
  readonly counts: { ok: number; skipped: number; failed: number };
  readonly exit: ExitCode;
}

/** What the rollback line copies from the line that had set the restored avatar: the next import
 * of that CSV then finds its source and output unchanged and skips, as before the rolled-back run. */
const FROM_BEFORE = ['source', 'sourceSize', 'sourceMtimeMs', 'sourceSha256', 'settings', 'outputSha256', 'bytes', 'edge', 'quality'] as const;

export async function rollback(config: RollbackRun): Promise<RollbackResult> {
  const counts = { ok: 0, skipped: 0, failed: 0 };
  let fatal = false;
  const stopped = new Set<string>();
  const lanes = new Map([...config.targets].map(([id, { concurrency }]) => [id, pLimit(concurrency)]));

  const emit = async (line: RowLine): Promise<void> => {
    // Never `removed`: a rollback sets avatars back, it does not remove a leaver's.
    counts[line.status as keyof typeof counts]++;
    if (!config.dryRun) await config.ledger.append(line);
    config.onRow(line);
  };

  const one = async (change: Change): Promise<void> => {
    const { line } = change;
    const { target } = config.targets.get(line.target)!;
    const base: RowLine = {
      type: 'row', ts: '', run: config.runId, row: line.row, user: line.user, target: line.target, source: line.source, settings: line.settings, status: 'skipped',
    };
    const done = (more: Partial<RowLine>): Promise<void> => emit({ ...base, ...more, ts: new Date().toISOString() });
    if (change.undone) return done({ status: 'skipped', reason: 'rolled_back' });
    if (change.changedSince && !config.force) return done({ status: 'skipped', reason: 'changed_since_run' });
    try {
      const account = await target.resolve(line.user, priorOf(line));
      const restoring = line.previous;
      // The avatar is back to what that line had set (a target that uploads it again, Zulip,
      // reports a new avatar_version for the same picture): the line's source is copied over.
      const before = restoring !== undefined ? change.before : undefined;
      const copied: Partial<Record<string, unknown>> = {};
      if (before) for (const key of FROM_BEFORE) if (before[key] !== undefined) copied[key] = before[key];
      // An earlier rollback of this run was killed between this user's write and its line: if the
      // target shows what its intent named, that write landed. Recorded, not sent again.
      if (change.pending && landed(change.pending.restores!, account.current, target)) {
        return await done({ ...copied, status: 'ok', reason: 'recovered', remote: account.current ?? '', ...(line.remote ? { previous: line.remote } : {}) });
      }
      // What that run set, '' for "nothing" (a rollback's own line restoring no avatar).
      if ((account.current ?? '') !== (line.remote ?? '') && !config.force) return await done({ status: 'skipped', reason: 'changed_since_run' });
      if (config.dryRun) return await done({ status: 'ok', reason: 'dry_run', ...(account.current ? { previous: account.current } : {}) });
      // The intent is on disk before the target changes (as for an import's write, issue 11).
      const expected = restoring === undefined ? '' : target.features.restoresTo ? target.features.restoresTo(account, restoring) : restoring;
      if (expected !== undefined) {
        await config.ledger.append({
          type: 'intent', ts: new Date().toISOString(), run: config.runId, row: line.row, user: line.user, target: line.target,
          source: before?.source ?? line.source, settings: before?.settings ?? line.settings,
          // Only a restored avatar the tool had set (its line's fields carried) is one an import may
          // recognise as its own write: `remote` stays out otherwise, so the import protects it.
          ...(before && expected !== '' ? { ...copied, remote: expected } : {}),
          outputSha256: before?.outputSha256 ?? '', bytes: before?.bytes ?? 0, restores: expected,
        });
      }
      const applied = restoring === undefined ? { remote: '', ...(await target.features.remove!(account)) } : await target.features.restore!(account, restoring);
      // `remote` '' says "the tool holds nothing here": not a complete held line, so the next
      // import treats the user as it did before the rolled-back run first set their avatar.
      return await done({
        ...copied, status: 'ok', reason: 'rollback', remote: applied.remote,
        ...('stamp' in applied && applied.stamp !== undefined ? { stamp: applied.stamp } : {}),
        ...(applied.previous === undefined ? {} : { previous: applied.previous }),
        ...('replaced' in applied && applied.replaced !== undefined ? { replaced: applied.replaced } : {}),
      });
    } catch (error) {
      if (isAvatarError(error) && error.kind === 'fatal') {
        stopped.add(line.target);
        fatal = true;
        return;
      }
      const code = isAvatarError(error) ? error.code : 'internal_error';
      return done({ status: 'failed', error: { code, message: config.redact(error instanceof Error ? error.message : String(error)) } });
    }
  };

  await Promise.all(config.plan.changes.map((change) =>
    lanes.get(change.line.target)!(async () => {
      if (config.signal.aborted || stopped.has(change.line.target)) return;
      await one(change);
    })));
  const exit = fatal ? EXIT.fatal : config.signal.aborted ? EXIT.interrupted : counts.failed > 0 ? EXIT.newFailures : EXIT.ok;
  return { counts, exit };
}

/** Whether the target shows what a rollback intent named ('' : no avatar of the tool's). */
function landed(expected: string, current: string | undefined, target: Target): boolean {
  if (expected === '') return current === undefined;
  const same = target.features.isIntended ?? ((a: string, b: string) => a === b);
  return current !== undefined && same(current, expected);
}

function priorOf(line: RowLine): Prior | undefined {
  if (!isHeldRowLine(line)) return undefined;
  return { outputSha256: line.outputSha256, bytes: line.bytes, remote: line.remote, ...(line.stamp === undefined ? {} : { stamp: line.stamp }) };
}
