// Removing the leavers' avatars (--remove-missing), after the import of the rows that are there:
// each leaver is looked up again, and the avatar is removed only while it is still what the tool
// set. Like an import's write, the removal is named in an intent line before the target changes,
// so a kill between the two is recognised by the next run (recorded, not sent twice). Each leaver
// ends in one line: `removed`, `skipped` (changed_by_user, user_gone) or `failed`.
import pLimit from 'p-limit';
import { capText, MAX_MESSAGE_CHARS } from '../capped-text.js';
import { heals, isAvatarError } from '../errors.js';
import type { AvatarError } from '../errors.js';
import type { Ledger } from '../ledger/ledger.js';
import type { HeldRowLine, RowLine } from '../ledger/lines.js';
import type { Account, Prior, Target } from '../targets/target.js';
import { stripUrlSecrets } from '../url-secrets.js';
import type { Leaver } from './leaver-candidates.js';
import { removalLanded } from './removal-intent.js';

export interface LeaverLane {
  readonly target: Target;
  readonly ledger: Ledger;
  readonly concurrency: number;
  readonly leavers: readonly Leaver[];
}

export interface RemovalConfig {
  readonly runId: string;
  readonly lanes: readonly LeaverLane[];
  readonly dryRun: boolean;
  /** Aborted on SIGINT/SIGTERM: removals not yet sent are dropped (no line); those sent finish. */
  readonly signal: AbortSignal;
  readonly redact: (text: string) => string;
  /** Each line as written, with the user's latest line before it. */
  readonly onRow: (line: RowLine, previous: RowLine | undefined) => void | Promise<void>;
}

/** Codes that mean the account is gone: nothing to remove, and no failure. */
const GONE = new Set(['user_not_found', 'user_deactivated']);

/** Returns the fatal error that stopped each target that stopped. */
export async function removeLeavers(config: RemovalConfig): Promise<Map<string, AvatarError>> {
  const fatal = new Map<string, AvatarError>();
  await Promise.all(config.lanes.map(async (lane) => {
    const slot = pLimit(lane.concurrency);
    await Promise.all(lane.leavers.map((leaver) => slot(async () => {
      if (config.signal.aborted || fatal.has(lane.target.id)) return;
      try {
        await removeOne(config, lane, leaver);
      } catch (error) {
        if (isAvatarError(error) && error.kind === 'fatal') {
          if (!fatal.has(lane.target.id)) fatal.set(lane.target.id, error);
          return;
        }
        throw error;
      }
    })));
  }));
  return fatal;
}

async function removeOne(config: RemovalConfig, lane: LeaverLane, leaver: Leaver): Promise<void> {
  const { target, ledger } = lane;
  const found = await ledger.lookup(target.id, leaver.user);
  const intent = found.intent?.removes ? found.intent : undefined;
  // What the tool set (a pending removal intent leaves it in place in the index).
  const { held } = found;
  if (held === undefined) return;
  const base: RowLine = {
    type: 'row', ts: '', run: config.runId, row: 0, user: leaver.user, target: target.id, source: held.source, settings: held.settings, status: 'skipped',
  };
  const emit = async (more: Partial<RowLine>): Promise<void> => {
    const line: RowLine = { ...base, ...more, ts: new Date().toISOString() };
    if (!config.dryRun) await ledger.append(line);
    await config.onRow(line, found.latest);
  };
  try {
    const account = await target.resolve(leaver.user, priorOf(held));
    const { current } = account;
    // Killed between the target's change and its line: the target shows what the intent named.
    if (intent && removalLanded(intent, current, target)) {
      return await emit({ status: 'removed', reason: 'recovered', remote: intent.remote ?? '', previous: held.remote });
    }
    // Someone set another avatar since the tool's (or cleared it): theirs, left alone.
    if (current !== held.remote) {
      return await emit({ status: 'skipped', reason: 'changed_by_user', ...(current === undefined ? {} : { found: capText(current) }) });
    }
    const restoring = leaver.restore;
    if (config.dryRun) return await emit({ status: 'removed', reason: 'dry_run', remote: restoring ?? '', previous: held.remote });
    // Not yet sent: an interrupt drops it (no line; the next run does it).
    if (config.signal.aborted) return;
    await ledger.append({
      type: 'intent', ts: new Date().toISOString(), run: config.runId, row: 0, user: leaver.user, target: target.id,
      source: held.source, settings: held.settings, outputSha256: held.outputSha256, bytes: held.bytes, remote: restored(target, account, restoring), removes: true,
    });
    const applied = restoring === undefined ? { remote: '', ...(await target.features.remove!(account)) } : await target.features.restore!(account, restoring);
    // `previous`: what rollback sets again. The target's own name for what it replaced where it
    // gives one (Zulip: the kept copy of the tool's upload), else the tool's avatar as held.
    return await emit({
      status: 'removed', remote: applied.remote, previous: applied.previous ?? held.remote,
      // Zulip: the avatar_version of the tool's upload, which `previous` names as its kept copy.
      ...(applied.previous !== undefined && 'replaced' in applied && applied.replaced !== undefined ? { replaced: applied.replaced } : {}),
      ...('stamp' in applied && applied.stamp !== undefined ? { stamp: applied.stamp } : {}),
    });
  } catch (error) {
    if (isAvatarError(error) && error.kind === 'fatal') throw error;
    const known = isAvatarError(error);
    const code = known ? error.code : 'internal_error';
    if (known && GONE.has(code)) return emit({ status: 'skipped', reason: 'user_gone' });
    const message = capText(stripUrlSecrets(config.redact(error instanceof Error ? error.message : String(error))), MAX_MESSAGE_CHARS);
    const retryable = !known || error.kind !== 'row' || heals(code);
    return emit({ status: 'failed', error: { code, message, ...(retryable ? { retryable: true } : {}) } });
  }
}

/** What the target will report as `current` once the removal lands ('' for none): `restoring`
 * itself, unless the target says otherwise (Zulip: an upload's new avatar_version; `default`
 * shows none of the user's). What the next run compares with after a kill (removalLanded). */
function restored(target: Target, account: Account, restoring: string | undefined): string {
  if (restoring === undefined) return '';
  return target.features.restoresTo ? target.features.restoresTo(account, restoring) ?? restoring : restoring;
}

function priorOf(line: HeldRowLine): Prior {
  return { outputSha256: line.outputSha256, bytes: line.bytes, remote: line.remote, ...(line.stamp === undefined ? {} : { stamp: line.stamp }) };
}
