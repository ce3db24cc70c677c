import { randomUUID } from 'node:crypto';
import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';

import { UsageError } from '../errors.js';

// `<ledger>.lock`: created exclusively (O_EXCL), holding who owns it. Two runs appending to one
// ledger would interleave their lines and each would redo the other's rows.

export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly started: string;
}

/** Enough for any realistic contention: every round either creates the lock or finds it held. */
const ATTEMPTS = 8;

export class LockFile {
  private released = false;

  private constructor(
    readonly path: string,
    private readonly content: string,
  ) {}

  /** Take the lock for `ledgerPath` (named in errors), or throw UsageError saying who holds it. */
  static async acquire(path: string, ledgerPath: string): Promise<LockFile> {
    const content = JSON.stringify({ pid: process.pid, host: hostname(), started: new Date().toISOString() } satisfies LockOwner) + '\n';
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      try {
        await writeFile(path, content, { flag: 'wx' });
        return new LockFile(path, content);
      } catch (error) {
        if (code(error) !== 'EEXIST') throw error;
      }
      const found = await readIfExists(path);
      if (found === undefined) continue; // released meanwhile: try again
      const owner = parseOwner(found);
      if (owner === undefined) {
        throw new UsageError(
          `ledger ${ledgerPath} is locked by ${path}, which does not say who holds it (another run may be starting). ` +
            `If no other run uses this ledger, delete the lock file.`,
        );
      }
      if (owner.host !== hostname() || isAlive(owner.pid)) {
        throw new UsageError(
          `ledger ${ledgerPath} is in use by process ${owner.pid} on ${owner.host} since ${owner.started} (lock file ${path}). ` +
            `Wait for that run to finish; if it is gone, delete the lock file.`,
        );
      }
      await removeStale(path, found);
    }
    throw new UsageError(`could not lock ledger ${ledgerPath}: ${path} kept changing hands; is another run starting?`);
  }

  /** Remove the lock if it is still ours. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if ((await readIfExists(this.path)) === this.content) await unlink(this.path);
  }
}

/**
 * Remove a lock whose owner died, without ever removing a live one. Renaming is atomic, so of all
 * processes that saw the same stale lock exactly one moves it; the others either find nothing to
 * move, or move the lock a faster one has just created — they see it is not the stale content and
 * link it back (link fails rather than overwrite if yet another lock appeared in that instant).
 */
async function removeStale(path: string, staleContent: string): Promise<void> {
  const aside = `${path}.stale-${process.pid}-${randomUUID()}`;
  try {
    await rename(path, aside);
  } catch (error) {
    if (code(error) === 'ENOENT') return;
    throw error;
  }
  if ((await readIfExists(aside)) !== staleContent) {
    try {
      await link(aside, path);
    } catch (error) {
      if (code(error) !== 'EEXIST') await rename(aside, path); // no hard links here: put it back
    }
  }
  await unlink(aside).catch(() => undefined);
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

/** Whether a process with this pid exists here. Unsure counts as alive: only ESRCH proves death. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return code(error) !== 'ESRCH';
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
