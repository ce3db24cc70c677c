// What to do with one row on one target, as a pure function of what is known about it: the
// ledger's lines for (target, user), how the source compares with them, what the target reports,
// the new avatar once made, and the flags. run() gathers these facts lazily (the cheapest first:
// a nightly run of unchanged rows reads no image) and asks again each time it learns more; `need`
// says which fact is missing. The whole table is in test/pipeline/decide.test.ts.
//
// HOW TO ADD A CASE: a field in RowFacts if the case needs a new fact (filled in by run.ts's
// `factsOf`), one branch below at the place in the order where it applies, returning `protect`
// or `skip` with a new stable reason (or a new action, handled once in run.ts), and one row in the
// table test. The order of the branches is the policy: read it top to bottom.
import type { RowLineError, RowStatus } from '../ledger/lines.js';

/** How the row's source compares with a ledger line. `unknown`: size or mtime differ but the line
 * has a content hash, so hashing the source (a read) would tell. */
export type SourceMatch = 'same' | 'different' | 'unknown';

export interface RowFacts {
  readonly force: boolean;
  readonly retryFailed: boolean;
  readonly overwriteUserChanges: boolean;
  /** --only-new: only users this target has never had an `ok` for (an onboarding wave). */
  readonly onlyNew?: boolean;
  /** --replace-existing: on first contact, replace an avatar the user already has. */
  readonly replaceExisting: boolean;
  /** The target protects avatars users set themselves (`features.guardsUserChanges`). */
  readonly guardsUserChanges: boolean;
  /** The latest outcome for (target, user), unless it was a duplicate row of another user. */
  readonly latest?: { readonly status: RowStatus; readonly error?: RowLineError; readonly heals: boolean };
  /** The source against `latest` (same source, same settings, same bytes?). */
  readonly latestSource?: SourceMatch;
  /** The last line that says what the target holds from the tool (`remote`, `outputSha256`). */
  readonly held?: { readonly remote: string; readonly outputSha256: string };
  /** The source against `held`. */
  readonly heldSource?: SourceMatch;
  /**
   * A write an earlier run began and never recorded (a pending intent line: killed between the
   * target's change and the row line), once the account is known: `landed` when the target now
   * holds what the intent named.
   */
  readonly intent?: { readonly landed: boolean; readonly outputSha256: string };
  /** The source against the intent. */
  readonly intentSource?: SourceMatch;
  /** What the target reports now; undefined until resolved. `current` is undefined when the user
   * has the target's default avatar (no avatar_url, a Gravatar/Jdenticon default, no file). */
  readonly account?: { readonly current?: string | undefined };
  /** sha256 of the avatar this run made for the row; undefined until made. */
  readonly outputSha256?: string;
}

export type Decision =
  /** It failed last time for a reason that does not heal, and its input has not changed. */
  | { readonly action: 'carry-failure'; readonly error: RowLineError }
  /** Leave the target alone for a protective reason (a skipped line with that reason). */
  | { readonly action: 'protect'; readonly reason: 'changed_by_user' | 'has_own_avatar' | 'not_new' }
  /** The target still holds what the tool made from this very source: nothing to do.
   * `recovered`: it holds it from a write whose line was lost (recorded as `ok`, see `intent`). */
  | { readonly action: 'skip'; readonly recovered?: boolean }
  /** Make the avatar (if not made yet) and set it. */
  | { readonly action: 'write' }
  /** Decide again once this fact is known. */
  | { readonly action: 'need'; readonly fact: 'account' | 'content' | 'output' };

export function decide(facts: RowFacts): Decision {
  const { force, retryFailed, latest, account } = facts;
  let { held, heldSource } = facts;

  // An onboarding wave from a full export: anyone the tool has ever set an avatar for on this
  // target (a held line survives later failures and compaction) is left alone, before any request.
  if (facts.onlyNew && (held !== undefined || latest?.status === 'ok')) return { action: 'protect', reason: 'not_new' };

  // A failure that does not heal (a corrupt image, an invalid id) is not retried every night:
  // only when its input changes, or with --force / --retry-failed.
  if (!force && !retryFailed && latest?.status === 'failed' && latest.error && !latest.heals) {
    if (facts.latestSource === 'same') return { action: 'carry-failure', error: latest.error };
    if (facts.latestSource === 'unknown') return { action: 'need', fact: 'content' };
  }

  if (!account) return { action: 'need', fact: 'account' };

  // The target holds what a pending intent named: the tool's own write, whose row line a kill
  // lost. It stands for the held line from here on, so it is never taken for the user's choice.
  const recovered = facts.intent?.landed === true && account.current !== undefined;
  if (recovered) {
    held = { remote: account.current!, outputSha256: facts.intent!.outputSha256 };
    heldSource = facts.intentSource;
  }
  const skip: Decision = recovered ? { action: 'skip', recovered } : { action: 'skip' };
  const stillOurs = held !== undefined && account.current === held.remote;

  // First contact: the tool never set an avatar for this user here, and the user already has one
  // that is not the target's default. Theirs wins unless the operator says --replace-existing
  // (whatever --force says: the ledger, which --force overrides, knows nothing of this avatar).
  if (!held && account.current !== undefined && !facts.replaceExisting) return { action: 'protect', reason: 'has_own_avatar' };

  // The user set another avatar after the tool's: theirs wins unless the operator says otherwise.
  if (facts.guardsUserChanges && held && !stillOurs && !facts.overwriteUserChanges) return { action: 'protect', reason: 'changed_by_user' };

  // Still what the tool left: skip if the source is the same (cheap checks first), or if the new
  // avatar comes out byte for byte what is there.
  if (!force && stillOurs) {
    if (heldSource === 'same') return skip;
    if (heldSource === 'unknown') return { action: 'need', fact: 'content' };
    if (facts.outputSha256 === undefined) return { action: 'need', fact: 'output' };
    if (facts.outputSha256 === held!.outputSha256) return skip;
  }
  return { action: 'write' };
}
