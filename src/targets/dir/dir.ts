import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, renameSync, statSync, unlinkSync, writeFileSync, type Dirent } from 'node:fs';
import { copyFile, link, mkdir, open, opendir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { BlockingIo } from '../../util/blocking-io.js';
import { RowError } from '../../errors.js';
import { CompactTable } from '../../util/compact-table.js';
import { Lru } from '../../util/lru.js';
import { prefetched } from '../../util/stats-ahead.js';
import type { Account, Applied, ApplyOptions, Avatar, Prior, Target, TargetFeatures, TargetLimits } from '../target.js';
import { fileNamer, sameFileKey } from './filename.js';

// The embedded target: `<out>/<file name for user>.jpg`, written atomically (temp file in the
// same folder, then rename) so a reader or a crash never sees half an avatar.

const TEMP_PREFIX = '.avatar-import-';
/** Temp names are unique per process by a counter after this random tag (random bytes for every
 * file cost ~25 µs each); `wx` refuses a name that exists anyway. */
const TEMP_TAG = randomBytes(6).toString('hex');
/** Where replaced files are kept for rollback, named by their sha256 (what `previous` records):
 * a file replaced twice, or shared by many users (a placeholder), is kept once. */
const PREVIOUS_DIR = join('.avatar-import', 'previous');

export interface DirOptions {
  out: string;
  /** Verify held files by content (sha256) instead of size + mtime. */
  checksum: boolean;
  /** --file-name template ({user}); default: the user id, lower-cased and made safe. */
  fileName?: string;
  /** Whether writes may still block the main thread (util/blocking-io.ts); one per target. */
  blockingIo?: BlockingIo;
}

export class DirTarget implements Target<undefined> {
  readonly name = 'dir';
  readonly id: string;
  /** The folder is the tool's own: what is in it is replaced, not guarded. */
  readonly features: TargetFeatures<undefined> = {
    guardsUserChanges: false,
    bulkDiscovery: false,
    backupPrevious: true,
    claim: (user, row, metBefore) => this.claim(user, row, metBefore),
    resolveNow: (user, prior) => this.#resolveNow(user, prior, this.pathFor(user)),
    localFile: (user) => this.#localFile(user),
    restore: (account, previous) => this.#restore(account, previous),
    remove: (account) => this.#remove(account),
  };
  readonly #out: string;
  /** #out and a separator. */
  readonly #folder: string;
  readonly #checksum: boolean;
  /** Made at the first write, when the folder exists (BlockingIo.forFolder). */
  #io: BlockingIo | undefined;
  readonly #name: (user: string) => string;
  // Which row took each file name in this run. Compact (a million names in ~14 MB) because it
  // may hold every row; the users themselves are remembered only for the recent ones, to name both
  // in the message (an older one is named by its row). Names that are their user's own id are
  // not kept when the run can say which users it met (see claim).
  readonly #claimed = new CompactTable();
  readonly #recent = new Lru<string, string>(4096);
  #temps = 0;

  constructor(options: DirOptions) {
    this.#out = resolve(options.out);
    this.#folder = this.#out.endsWith(sep) ? this.#out : `${this.#out}${sep}`;
    this.#checksum = options.checksum;
    if (options.blockingIo) this.#io = options.blockingIo;
    this.#name = fileNamer(options.fileName);
    this.id = `dir:${this.#out}`;
  }

  pathFor(user: string): string {
    return this.#fileNamed(this.#nameOf(user));
  }

  /** What join() returns, without its normalising: a file name (filename.ts) holds no separator
   * and is never "." or "..". */
  #fileNamed(name: string): string {
    return `${this.#folder}${name}.jpg`;
  }

  // claim() and resolve() name the same row's file one after the other: named once.
  #lastUser: string | undefined;
  #lastName = '';
  /** Names made for rows read ahead (localFile), kept until their rows come (a batch later). */
  #aheadNames = new Map<string, string>();
  #nameOf(user: string): string {
    if (user !== this.#lastUser) {
      this.#lastName = this.#aheadNames.get(user) ?? this.#name(user);
      this.#lastUser = user;
    }
    return this.#lastName;
  }

  /** The file of a row read ahead, to be stat-ed ahead (see features.localFile). */
  #localFile(user: string): string {
    if (this.#aheadNames.size >= MAX_AHEAD_NAMES) this.#aheadNames.clear();
    const name = this.#name(user);
    this.#aheadNames.set(user, name);
    // Not through #nameOf: its last user is the row being decided now, not this one.
    return this.#fileNamed(name);
  }

  /**
   * The file name `user` will be written to, taken for this run's row `row`; throws when an
   * earlier row took it. With `metBefore` (the run's record of the users it met, see the Target
   * interface), a name that is its own user's id (a plain lower-case id or e-mail: most users) is
   * not kept: whoever wants it later asks whether the run met that user. A million users of an
   * export cost ~14 MB less, and a nightly run of 100 000 users ~0.1 s.
   */
  claim(user: string, row: number, metBefore?: (user: string) => number | undefined): void {
    const name = this.#nameOf(user);
    const key = sameFileKey(name);
    const own = metBefore !== undefined && key === user;
    let earlier = this.#claimed.get(key);
    let other = earlier === undefined ? undefined : this.#recent.get(key);
    // The user whose own name this is, met earlier, holds it: had anyone taken it before them,
    // their claim would have failed and that one would still be in #claimed. (Only a user the
    // name is their own: "a%2fb" is "a/b"'s name, not the file of a user called "a%2fb".)
    if (earlier === undefined && !own && metBefore !== undefined && sameFileKey(this.#name(key)) === key) {
      earlier = metBefore(key);
      other = key;
    }
    if (earlier !== undefined) {
      throw new RowError(
        'duplicate_file_name',
        `${JSON.stringify(user)} would be written to ${name}.jpg, the file of ${other === undefined ? `the user on row ${earlier}` : JSON.stringify(other)} (row ${earlier}); ` +
          'file names ignore case, so that row keeps the file and this one is not written (--file-name can name files differently)',
      );
    }
    if (own) return;
    this.#claimed.set(key, row);
    this.#recent.set(key, user);
  }

  async open(): Promise<TargetLimits> {
    await mkdir(this.#out, { recursive: true });
    await this.#removeStaleTemps();
    return {};
  }

  async resolve(user: string, prior: Prior | undefined): Promise<Account<undefined>> {
    const path = this.pathFor(user);
    const known = this.#resolveNow(user, prior, path);
    if (known !== undefined) return known;
    return { user, current: createHash('sha256').update(await readFile(path)).digest('hex'), state: undefined };
  }

  /** What one stat answers: no file, or (rclone's cheap check) the size and mtime we wrote, so still
   * ours. Undefined: the file must be hashed to say what it holds. */
  #resolveNow(user: string, prior: Prior | undefined, path: string): Account<undefined> | undefined {
    // Synchronous: one stat of a local file answers from the inode cache in microseconds, while a
    // promise per stat (a thread-pool hop) dominated a nightly run of 100 000 unchanged rows.
    // Stat-ed ahead in another thread while earlier rows were decided, when the pipeline could.
    const ahead = prefetched(path, true);
    const info = ahead === undefined ? statSync(path, { throwIfNoEntry: false }) : ahead ?? undefined;
    if (info === undefined) return { user, state: undefined };
    if (!this.#checksum && prior?.remote && info.size === prior.bytes && prior.stamp !== undefined && Math.abs(info.mtimeMs - prior.stamp) < 1) {
      return { user, current: prior.remote, state: undefined };
    }
    return undefined;
  }

  async apply(account: Account<undefined>, avatar: Avatar, options: ApplyOptions = {}): Promise<Applied> {
    // `current` is the file's sha256: a file a kill left unrecorded is known by its content.
    await options.intend?.(avatar.sha256);
    return this.#put(account, avatar.jpeg, avatar.sha256);
  }

  /** Write `bytes` as the user's file, the file it replaces kept first (rollback puts it back). */
  async #put(account: Account<undefined>, bytes: Buffer, sha256: string): Promise<Applied> {
    const path = this.pathFor(account.user);
    if (account.current !== undefined) await this.#keep(path, account.current);
    const temp = join(this.#out, `${TEMP_PREFIX}${process.pid}-${TEMP_TAG}${(this.#temps++).toString(16)}.tmp`);
    const io = (this.#io ??= BlockingIo.forFolder(this.#out));
    const written = io.allowed ? io.run(() => this.#writeNow(temp, path, bytes)) : await this.#writeLater(temp, path, bytes);
    return {
      remote: sha256,
      stamp: Math.trunc(written.mtimeMs),
      ...(account.current === undefined ? {} : { previous: account.current }),
    };
  }

  // An avatar is written on the main thread while that is quick (util/blocking-io.ts): a few dozen
  // KB into the page cache cost less than the thread-pool round trips of open, write, close, rename
  // and stat. Once writes are found slow (a network file system), the rest go to the thread pool.
  #writeNow(temp: string, path: string, bytes: Buffer): { mtimeMs: number } {
    const fd = openSync(temp, 'wx', 0o644);
    try {
      writeFileSync(fd, bytes);
    } finally {
      closeSync(fd);
    }
    try {
      renameSync(temp, path);
    } catch (error) {
      try {
        unlinkSync(temp);
      } catch {
        // Left for the next run's clean-up, as a killed run's would be.
      }
      throw new RowError('target_error', `could not write ${path}: ${(error as Error).message}`, { cause: error });
    }
    return statSync(path);
  }

  async #writeLater(temp: string, path: string, bytes: Buffer): Promise<{ mtimeMs: number }> {
    const handle = await open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(bytes);
    } finally {
      await handle.close();
    }
    try {
      await rename(temp, path);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw new RowError('target_error', `could not write ${path}: ${(error as Error).message}`, { cause: error });
    }
    return stat(path);
  }

  async close(): Promise<void> {}

  /** A hard link to the file about to be replaced (no copy, and the rename that follows cannot
   * lose it); a copy where the file system has no links. Already kept: nothing to do. */
  async #keep(path: string, sha256: string): Promise<void> {
    const folder = join(this.#out, PREVIOUS_DIR);
    const kept = join(folder, `${sha256}.jpg`);
    if (statSync(kept, { throwIfNoEntry: false }) !== undefined) return;
    await mkdir(folder, { recursive: true });
    try {
      await link(path, kept);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return;
      if (code === 'ENOENT') return; // gone since resolve: nothing to keep
      await copyFile(path, kept).catch((copyError: unknown) => {
        throw new RowError('target_error', `could not keep ${path} before replacing it: ${(copyError as Error).message}`, { cause: copyError });
      });
    }
  }

  /** Rollback: the kept file named `previous` (its sha256) becomes the user's file again. */
  async #restore(account: Account<undefined>, previous: string): Promise<Applied> {
    const kept = join(this.#out, PREVIOUS_DIR, `${previous}.jpg`);
    const bytes = await readFile(kept).catch((error: unknown) => {
      throw new RowError('target_error', `the replaced file was not kept (${kept}): ${(error as Error).message}`, { cause: error });
    });
    if (createHash('sha256').update(bytes).digest('hex') !== previous) throw new RowError('target_error', `${kept} is not the file that was replaced (its content changed)`);
    return this.#put(account, bytes, previous);
  }

  /** Rollback of a user who had no file: theirs is removed (kept first, so this too can be undone). */
  async #remove(account: Account<undefined>): Promise<{ readonly previous?: string }> {
    if (account.current === undefined) return {};
    const path = this.pathFor(account.user);
    await this.#keep(path, account.current);
    await unlink(path).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new RowError('target_error', `could not remove ${path}: ${(error as Error).message}`, { cause: error });
    });
    return { previous: account.current };
  }

  /** Temp files left by a killed run: removed when the process that wrote them is gone. The folder
   * holds an avatar per user, so it is read in slices of names (readdir() of a million names
   * blocked the event loop for seconds and took ~100 MB at once), each slice synchronously: an
   * awaited read per name (the async iterator) cost ~2.5 µs a name, a quarter of a second in a
   * nightly run of 100 000 unchanged rows, for a folder that holds no temp file at all. */
  async #removeStaleTemps(): Promise<void> {
    const folder = await opendir(this.#out, { bufferSize: 1024 });
    try {
      for (;;) {
        const stale: string[] = [];
        let entry: Dirent | null = null;
        for (let n = 0; n < STALE_SCAN_SLICE && (entry = folder.readSync()) !== null; n++) {
          if (!entry.name.startsWith(TEMP_PREFIX)) continue;
          const match = /^\.avatar-import-(\d+)-[0-9a-f]+\.tmp$/.exec(entry.name);
          if (match && !isAlive(Number(match[1]))) stale.push(entry.name);
        }
        for (const name of stale) await unlink(join(this.#out, name)).catch(() => undefined);
        if (entry === null) return;
        // Lets other work (and an interrupt) in between slices.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      await folder.close().catch(() => undefined);
    }
  }
}

/** Rows are read at most 64 ahead (pipeline/look-ahead.ts): room to spare. */
const MAX_AHEAD_NAMES = 4096;

/** Names read between two turns of the event loop while looking for stale temp files (~1 ms). */
const STALE_SCAN_SLICE = 4096;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
