// Who is a leaver on a target: the ledger says the tool set the avatar they show (a held line, not
// removed since, not given up on as changed or gone), and the export no longer names them. Read
// from the ledger in two streaming passes; memory is the target's user ids (a Set) plus the
// leavers found, never the lines.
import type { LookupResult } from '../ledger/ledger.js';
import type { Ledger } from '../ledger/ledger.js';
import { isHeldRowLine, type RowLine } from '../ledger/lines.js';
import { readLines, readRowKeys } from '../ledger/read.js';

/** Reasons of a leaver's `skipped` line after which they are not a leaver again: the tool's
 * avatar is not what they show (changed since), or the target no longer has them. */
export const LEFT_ALONE: ReadonlySet<string> = new Set(['changed_by_user', 'user_gone']);

/**
 * Whether a user absent from the export is a leaver on this target, from the ledger alone (the
 * target is asked later, just before removing): a removal an earlier run began and never recorded
 * (a pending `removes` intent) is one to finish; otherwise the tool must hold their avatar.
 */
export function isLeaver(found: LookupResult): boolean {
  if (found.intent?.removes) return true;
  if (found.held === undefined) return false;
  const { latest } = found;
  if (latest?.status === 'removed') return false;
  if (latest?.status === 'skipped' && latest.reason !== undefined && LEFT_ALONE.has(latest.reason)) return false;
  return true;
}

export interface Leaver {
  readonly user: string;
  /** What to set again: the avatar the user had before the tool first set one on this target;
   * undefined: none (the avatar is cleared). */
  readonly restore?: string;
}

export interface LeaversOfTarget {
  /** Distinct users the ledger knows on the target (the default cap is a share of them). */
  readonly known: number;
  readonly leavers: readonly Leaver[];
}

export interface LeaverQuery {
  readonly id: string;
  readonly canonical: (user: string) => string;
  /** Canonical users of this export. */
  readonly present: ReadonlySet<string>;
}

/** The leavers of each target in `targets` (all sharing `ledger`), in the ledger's first-seen order. */
export async function findLeavers(ledger: Ledger, targets: readonly LeaverQuery[]): Promise<Map<string, LeaversOfTarget>> {
  const byId = new Map(targets.map((target) => [target.id, target]));
  // Pass 1: the users each target has lines for.
  const users = new Map(targets.map((target) => [target.id, new Set<string>()]));
  for await (const { target, user } of readRowKeys(ledger.path)) {
    if (user !== '') users.get(target)?.add(user);
  }
  const absent = new Map<string, string[]>();
  for (const [id, known] of users) {
    const { canonical, present } = byId.get(id)!;
    const leavers: string[] = [];
    for (const user of known) {
      if (present.has(canonical(user))) continue;
      if (isLeaver(await ledger.lookup(id, user))) leavers.push(user);
    }
    absent.set(id, leavers);
  }
  // Pass 2, for the leavers only: what each had before the tool's first avatar.
  const chains = new Map<string, Origin>();
  for (const [id, leavers] of absent) for (const user of leavers) chains.set(key(id, user), { held: undefined, origin: undefined });
  if (chains.size > 0) {
    for await (const line of readLines(ledger.path)) {
      if (line.type !== 'row') continue;
      const chain = chains.get(key(line.target, line.user));
      if (chain) follow(chain, line);
    }
  }
  const result = new Map<string, LeaversOfTarget>();
  for (const [id, leavers] of absent) {
    result.set(id, {
      known: users.get(id)!.size,
      leavers: await Promise.all(leavers.map(async (user) => {
        const { origin } = chains.get(key(id, user))!;
        // Unknown (the chain's start was compacted away): the held line's own `previous`.
        const restore = origin === undefined ? (await ledger.lookup(id, user)).held?.previous : origin ?? undefined;
        return restore === undefined ? { user } : { user, restore };
      })),
    });
  }
  return result;
}

/**
 * A user's avatars on one target, line by line: `held`, what the tool holds; `origin`, what the
 * user had before the tool's first avatar of this stretch (null: nothing; undefined: not known).
 * A write made while the tool held an avatar (a new photo over the old one, a rollback to an
 * earlier run's, --overwrite-user-changes) keeps the origin, so a leaver whose photo changed
 * twice gets back what they had before the tool, not the tool's older photo. (Whether `previous`
 * names the tool's avatar cannot be read from it on every target: Zulip's names a kept copy.)
 */
export interface Origin {
  held: string | undefined;
  origin: string | null | undefined;
}

export function follow(chain: Origin, line: RowLine): void {
  if (!isHeldRowLine(line)) {
    // Removed, or a rollback to the user's own avatar or to none: the tool holds nothing now.
    if (line.remote !== undefined) {
      chain.held = undefined;
      chain.origin = undefined;
    }
    return;
  }
  const wrote = line.status === 'ok';
  if (wrote && line.reason === 'recovered') {
    // A write whose line a kill lost: what it replaced is not known unless the tool held it.
    if (chain.held === undefined) chain.origin = undefined;
  } else if (wrote && chain.held === undefined) {
    chain.origin = line.previous ?? null;
  }
  chain.held = line.remote;
}

function key(target: string, user: string): string {
  return `${target}\0${user}`;
}
