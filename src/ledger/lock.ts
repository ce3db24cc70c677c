import { createHash, randomUUID } from 'node:crypto';
import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';

import { UsageError } from '../errors.js';

// `<ledger>.lock`, created exclusively and holding who owns it. Two runs appending to one ledger
// would interleave their lines and each redo the other's rows.
//
// Taking over a lock whose owner died is the delicate part: deleting it and creating a new one
// leaves a moment with no lock at all, and with several processes racing (measured: 8 processes
// started together, 7 rounds in 150 ended with two owners) one of them deletes a lock another
// has just created. So the lock file is never absent while it matters: the stale lock is
// *replaced* (rename over it, atomic) by the single process holding a claim on it. A claim is a
// file created exclusively, named after the stale lock's content; if a claimer dies, the next
// claim in the chain (-1, -2 …) can be taken, and only then. Claims are removed once done.

export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly started: string;
}

/** Each round either creates the lock, finds it held, or finds it changed hands: a few suffice. */
const ATTEMPTS = 8;
/** Filesystems without hard links (some network and FUSE mounts) say so with one of these. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

export class LockFile {
  private released = false;

  private constructor(
    readonly path: string,
    private readonly content: string,
  ) {}

  /** Take the lock for `ledgerPath` (named in errors), or throw UsageError saying who holds it. */
  static async acquire(path: string, ledgerPath: string): Promise<LockFile> {
    const content = JSON.stringify({ pid: process.pid, host: hostname(), started: new Date().toISOString() } satisfies LockOwner) + '\n';
    let busy = false;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (await createExclusive(path, content)) return new LockFile(path, content);
      const found = await readIfExists(path);
      if (found === undefined) continue; // released meanwhile
      const owner = parseOwner(found);
      if (owner === undefined) {
        throw new UsageError(
          `ledger ${ledgerPath} is locked by ${path}, which does not say who holds it. ` +
            `If no other run uses this ledger, delete the lock file.`,
        );
      }
      if (!diedHere(owner)) {
        throw new UsageError(
          `ledger ${ledgerPath} is in use by process ${owner.pid} on ${owner.host} since ${owner.started} (lock file ${path}). ` +
            `Wait for that run to finish; if it is gone, delete the lock file.`,
        );
      }
      const outcome = await takeOver(path, found, content);
      if (outcome === 'taken') return new LockFile(path, content);
      busy = outcome === 'busy';
    }
    throw new UsageError(
      busy
        ? `ledger ${ledgerPath}: another run is taking over the lock its dead owner left (${path}); try again when it is done.`
        : `could not lock ledger ${ledgerPath}: ${path} kept changing hands; is another run starting?`,
    );
  }

  /** Remove the lock if it is still ours. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    // Read-then-unlink is safe: only a claimer of *this* lock could change it, and nobody claims
    // a lock whose owner (us) is alive.
    if ((await readIfExists(this.path)) === this.content) await unlink(this.path);
  }
}

/**
 * Replace the stale lock whose text is `stale` with ours. `gone`: it was already replaced (look
 * again); `busy`: a live process holds the claim and is doing it.
 */
async function takeOver(path: string, stale: string, content: string): Promise<'taken' | 'gone' | 'busy'> {
  const chain = `${path}.takeover-${createHash('sha256').update(stale).digest('hex').slice(0, 16)}`;
  const claims: string[] = [];
  for (let n = 0; ; n++) {
    const claim = `${chain}-${n}`;
    claims.push(claim);
    if (await createExclusive(claim, content)) break;
    const claimer = parseOwner((await readIfExists(claim)) ?? '');
    if (claimer === undefined || !diedHere(claimer)) return 'busy';
  }
  try {
    // While the stale lock is in place nobody can create one, and we are the only live claimer:
    // what we read now is what we replace.
    if ((await readIfExists(path)) !== stale) return 'gone';
    const temp = tempName(path);
    await writeFile(temp, content, { flag: 'wx' });
    await rename(temp, path);
    return 'taken';
  } finally {
    // The stale lock is gone for good, so these claims (ours and dead claimers') mean nothing now.
    await Promise.all(claims.map((claim) => unlink(claim).catch(() => undefined)));
  }
}

/**
 * Create `path` holding `content`, unless it exists (false). Through a hard link, so the file
 * never exists empty: a reader could not tell a half-written lock from an abandoned one.
 */
async function createExclusive(path: string, content: string): Promise<boolean> {
  const temp = tempName(path);
  await writeFile(temp, content, { flag: 'wx' });
  try {
    await link(temp, path);
    return true;
  } catch (error) {
    if (code(error) === 'EEXIST') return false;
    if (!NO_HARD_LINKS.has(code(error) ?? '')) throw error;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  try {
    await writeFile(path, content, { flag: 'wx' });
    return true;
  } catch (error) {
    if (code(error) === 'EEXIST') return false;
    throw error;
  }
}

function tempName(path: string): string {
  return `${path}.${process.pid}-${randomUUID()}.tmp`;
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(text) as Partial<LockOwner>;
    // pid 0 and negative pids address process groups: never probe those.
    if (!Number.isSafeInteger(owner.pid) || (owner.pid as number) <= 0 || typeof owner.host !== 'string') return undefined;
    return { pid: owner.pid as number, host: owner.host, started: String(owner.started) };
  } catch {
    return undefined;
  }
}

/** Provably dead: on this host and the pid answers ESRCH. Anything unsure counts as alive. */
function diedHere(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return false;
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (error) {
    return code(error) === 'ESRCH';
  }
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (code(error) === 'ENOENT') return undefined;
    throw error;
  }
}

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}
