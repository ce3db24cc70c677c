import { mkdir, open, stat, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

import { UsageError } from '../errors.js';
import { lineBatches } from './line-batches.js';
import { repeatedLineText } from './line-text.js';
import { isHeldRowLine, isIntentLine, isRowLine, type HeldRowLine, type IntentLine, type LedgerLine, type RowLine } from './lines.js';
import { LockFile } from './lock.js';
import { loadIndex, MIN_ROWS_INDEX_FILE, removeIndex, saveIndex } from './index-file.js';
import { OffsetIndex } from './offset-index.js';
import { unwritten } from './unwritten.js';
import { ReadBack } from './read-back.js';
import { loadTrusted, saveTrusted } from './trusted-file.js';
import { lineTrust, OwnLines, withinLimits, type TrustedRange } from './trusted-lines.js';
import { scanRowKey, type RowKey } from './scan-line.js';
import type { CompactResult } from './tools/compact.js';

export interface LedgerOptions {
  /** Dry run: no lock, no writes, the file is left exactly as it is. */
  readonly readOnly?: boolean;
  /** The ledger is in its default place (the state folder, `<out>/.avatar-import/`): the folder is
   * created when missing (private: 0700), and a read-only open of a missing folder is an empty
   * ledger. An explicit --ledger in a missing folder stays an error (a typo is not a new place). */
  readonly createFolder?: boolean;
  /**
   * Compact the ledger when it is closed, if its row lines have passed twice what the next runs
   * need (and at least `minRows`), so nightly runs do not grow it without bound. On by default.
   */
  readonly autoCompact?: false | { readonly keepRuns?: number; readonly minRows?: number };
}

/** Below this many row lines a ledger is too small to be worth rewriting. */
const AUTO_COMPACT_MIN_ROWS = 10_000;

/** What the ledger knows about one (target, user). */
export interface LookupResult {
  /** The latest row line: what happened last time. */
  readonly latest?: RowLine;
  /** The latest row line with `remote` set: what the target should still hold, as `remote`. */
  readonly held?: HeldRowLine;
  /** An intent no row line followed (see IntentLine): a write whose outcome was never recorded. */
  readonly intent?: IntentLine;
}

// fsync is for power loss (a killed process loses nothing the kernel already has), so it can be
// occasional: every this many lines or this many ms, checked when a line is written, and on close.
const SYNC_EVERY_LINES = 1000;
const SYNC_EVERY_MS = 5000;
const NEWLINE = 0x0a;
/** Pending lines are encoded into chunks of this size (outside the JS heap). */
const CHUNK_BYTES = 256 * 1024;
/** Written chunks kept to be filled again. */
const SPARE_CHUNKS = 4;

/**
 * The append-only JSON Lines record of every row's outcome, and the index of it that answers
 * "already done?". Opening streams the file once; the index keeps two byte offsets per
 * (target, user) and lookups read those lines back, so memory stays flat with the ledger's size.
 *
 * Durability: each line is one write on a file opened for append, so a `kill -9` loses at most
 * lines not yet written and can leave one torn last line. Readers ignore an unterminated last
 * line; a writer first ends the file with '\n', so the torn fragment becomes a line of its own
 * that every reader skips as unparseable (`damagedLines`) instead of corrupting the next line.
 * Bytes are never removed.
 */
export class Ledger {
  private rows = 0;
  private damaged = 0;
  private size: number;
  private pending: Pending[] = [];
  /** The pending lines' bytes, in order: encoded when appended, so that a line's text (a string
   * on the JS heap) dies young instead of surviving into the old generation while it waits. */
  private encoded: Buffer[] = [];
  private chunk: Buffer | undefined;
  private chunkUsed = 0;
  /** The whole buffer `chunk` is the rest of. */
  private chunkWhole: Buffer | undefined;
  /** Whole chunks filled up, whose last lines are pending or being written: free once written. */
  private retired: Buffer[] = [];
  /** Written chunks, filled again instead of new ones (see encode). */
  private spare: Buffer[] = [];
  private flushing: Promise<void> | undefined;
  private failure: unknown;
  private closing: Promise<void> | undefined;
  private linesSinceSync = 0;
  private lastSync = Date.now();
  private index = new OffsetIndex();
  private readBack: ReadBack | undefined;
  /** The text each line read back was parsed from, while the line object lives (see enqueue). */
  private readonly texts = new WeakMap<object, string>();
  /** Row lines the last compaction kept (from its `compacted` line): the base growth is measured from. */
  private compactedRows = 0;
  private autoCompact: LedgerOptions['autoCompact'] = {};
  private compactionResult: CompactResult | undefined;
  /** What compaction may take on trust (trusted-lines.ts): the ranges left beside the ledger
   * (trusted-file.ts), and the lines this process writes. */
  private trusted: TrustedRange[] = [];
  private readonly own: OwnLines;
  private compactionFailure: unknown;

  private constructor(
    readonly path: string,
    readonly readOnly: boolean,
    private readonly handle: FileHandle | undefined,
    private readonly lock: LockFile | undefined,
    size: number,
  ) {
    this.size = size;
    this.sizeAtOpen = size;
    this.own = new OwnLines(size);
  }

  /** The file's length before this process appended anything: where earlier runs end. */
  readonly sizeAtOpen: number;

  /**
   * Open (creating it unless read-only) and index the ledger at `path`, whose folder must exist.
   * Throws UsageError when the folder is missing or another live process holds the lock.
   */
  static async open(path: string, options: LedgerOptions = {}): Promise<Ledger> {
    const absolute = resolve(path);
    const readOnly = options.readOnly === true;
    if (!options.createFolder) await requireFolder(absolute);
    else if (!readOnly) await mkdir(dirname(absolute), { recursive: true, mode: 0o700 });
    const lock = readOnly ? undefined : await LockFile.acquire(`${absolute}.lock`, absolute).catch(explainLockFailure(absolute));
    let handle: FileHandle | undefined;
    try {
      handle = await openFile(absolute, readOnly);
      let size = handle === undefined ? 0 : (await handle.stat()).size;
      if (handle !== undefined && !readOnly) size = await endWithNewline(handle, size);
      const ledger = new Ledger(absolute, readOnly, handle, lock, size);
      ledger.autoCompact = options.autoCompact ?? {};
      await ledger.build();
      return ledger;
    } catch (error) {
      await handle?.close().catch(() => undefined);
      await lock?.release().catch(() => undefined);
      throw error;
    }
  }

  /** Row lines in the index: those read at open plus those appended since. */
  get rowsIndexed(): number {
    return this.rows;
  }

  /** Complete lines that are not JSON, or row lines without a target and user: skipped. */
  get damagedLines(): number {
    return this.damaged;
  }

  /** Distinct (target, user) pairs with at least one row line. */
  get keys(): number {
    return this.index.size;
  }

  async lookup(target: string, user: string): Promise<LookupResult> {
    return this.lookupNow(target, user);
  }

  /**
   * `lookup` without a promise: the index is in memory and its lines are read back with a
   * synchronous pread from the page cache, so the nightly run's fast path (a row skipped without
   * waiting on anything) can ask 100 000 times without a microtask each.
   */
  lookupNow(target: string, user: string): LookupResult {
    this.assertOpen();
    const offsets = this.index.find(target, user);
    if (offsets === undefined) return {};
    // A line that does not name this key (an index collision, a file changed behind our back) is
    // treated as absent: the row is redone rather than wrongly skipped.
    const latest = offsets.latest === undefined ? undefined : this.rowAt(offsets.latest, target, user);
    let line: RowLine | undefined;
    if (offsets.held === offsets.latest) line = latest;
    else if (offsets.held !== undefined) line = this.rowAt(offsets.held, target, user);
    // Without the hash and size it was written with, a remote cannot be checked: as if none.
    const held = line !== undefined && isHeldRowLine(line) ? line : undefined;
    const intent = offsets.intent === undefined ? undefined : this.intentAt(offsets.intent, target, user);
    return { ...(latest && { latest }), ...(held && { held }), ...(intent && { intent }) };
  }

  /**
   * A number for (target, user) from 0 up, stable while the ledger is open, or -1 when it has no
   * line for the pair: lets a run remember its users at 4 bytes each instead of a table of its own.
   * Two pairs whose fingerprints collide share a number (odds as CompactTable's).
   */
  keyId(target: string, user: string): number {
    return this.index.idOf(target, user);
  }

  /** Lines appended and not yet written: a caller that does not wait for its lines (`enqueue`)
   * waits (`drained`) once this grows, so memory stays bounded when the disk is slow. */
  get backlog(): number {
    return this.pending.length;
  }

  /** Resolves once the lines appended so far are written (or failed to be). */
  drained(): Promise<void> {
    return this.flushing ?? Promise.resolve();
  }

  /** Why lines could not be written, if a write failed: every later line is refused. */
  get writeFailure(): { readonly error: unknown } | undefined {
    return this.failure === undefined ? undefined : { error: this.failure };
  }

  /**
   * `append` for a line nobody waits for (a skip, which sends nothing): no promise. Written in call
   * order with the others; a failed write is kept (`writeFailure`) instead of rejecting anyone.
   */
  enqueue(line: RowLine, previous?: RowLine): void {
    this.assertOpen();
    if (this.readOnly) throw new Error(`ledger ${this.path} is open read-only (dry run): nothing is written`);
    // A line that repeats `previous` (read back by a lookup) but for its first fields: its text
    // from the previous one's (line-text.ts), not serialised again.
    const before = previous === undefined ? undefined : this.texts.get(previous);
    const text = before === undefined ? undefined : repeatedLineText(line, previous!, before);
    this.pending.push(this.pendingOf(line, undefined, undefined, text));
    this.flushing ??= this.flush();
  }

  /** Append one line; resolves once it is written. Lines are written in call order. */
  append(line: LedgerLine | IntentLine): Promise<void> {
    if (this.readOnly) return Promise.reject(new Error(`ledger ${this.path} is open read-only (dry run): nothing is written`));
    try {
      this.assertOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<void>((resolve, reject) => {
      this.pending.push(this.pendingOf(line, resolve, reject));
      this.flushing ??= this.flush();
    });
  }

  /**
   * Group commit: lines appended while a write is in flight go out together in the next single
   * write, in call order. A nightly run of 100 000 skips would otherwise wait on 100 000
   * one-after-another writes; a kill can still tear at most the last line.
   */
  private async flush(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0);
        const parts = this.takeEncoded();
        // Every line still in these chunks is in this write.
        const written = this.retired.splice(0);
        try {
          await this.write(batch, parts);
          for (const item of batch) item.resolve?.();
        } catch (error) {
          for (const item of batch) item.reject?.(error);
        }
        for (const chunk of written) if (chunk.length === CHUNK_BYTES && this.spare.length < SPARE_CHUNKS) this.spare.push(chunk);
      }
    } finally {
      this.flushing = undefined;
    }
  }

  /** What compaction on close did, if it ran. */
  get compaction(): { readonly result?: CompactResult; readonly error?: unknown } | undefined {
    if (this.compactionResult !== undefined) return { result: this.compactionResult };
    if (this.compactionFailure !== undefined) return { error: this.compactionFailure };
    return undefined;
  }

  /**
   * Whether closing will compact: row lines more than twice the live ones (the latest and the
   * held line per user) and more than twice what the last compaction kept (which also holds what
   * rollback needs, so a ledger whose recent runs changed a lot is not rewritten every night).
   */
  get compactionDue(): boolean {
    const settings = this.autoCompact;
    if (settings === false || settings === undefined || this.readOnly) return false;
    if (this.rows < (settings.minRows ?? AUTO_COMPACT_MIN_ROWS)) return false;
    return this.rows > 2 * Math.max(this.index.liveLines(), this.compactedRows);
  }

  /** The index as it stands and the length of file it covers: compaction judges lines by it
   * (tools/compact-from-index.ts). */
  indexNow(): { readonly offsets: OffsetIndex; readonly size: number; readonly trusted: readonly TrustedRange[] } {
    return { offsets: this.index, size: this.size, trusted: this.trustedRanges() };
  }

  /** The ranges compaction may take on trust: those left beside the ledger, and this process's lines. */
  private trustedRanges(): TrustedRange[] {
    if (this.failure !== undefined) return this.trusted;
    const own = this.own.range(this.size);
    return withinLimits(own === undefined ? this.trusted : [...this.trusted, own]);
  }

  /** Wait for pending lines, fsync, close the file and release the lock. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    while (this.flushing) await this.flushing;
    try {
      if (this.handle !== undefined && !this.readOnly && this.failure === undefined) {
        await this.handle.datasync();
        await this.keepIndex(this.handle);
      }
    } finally {
      try {
        await this.handle?.close();
        // Still holding the lock, so no run can start on the file while it is rewritten. A failed
        // compaction leaves the ledger as it was: it is reported, never thrown.
        if (this.failure === undefined && this.compactionDue) {
          try {
            // Loaded when due: most runs never compact, and start-up time counts (bench-startup).
            const { compactLedger, DEFAULT_KEEP_RUNS } = await import('./tools/compact.js');
            const keepRuns = (this.autoCompact as { keepRuns?: number }).keepRuns ?? DEFAULT_KEEP_RUNS;
            // Its index, over the whole file: compaction judges lines by their offsets and indexes
            // the new file as it writes it (compact-from-index.ts).
            this.compactionResult = await compactLedger(this.path, { keepRuns, lockHeld: true, index: this.indexNow() });
          } catch (error) {
            this.compactionFailure = error;
          }
        }
      } finally {
        await this.lock?.release();
      }
      // The compacted ledger is a new file, which compaction indexed as it wrote it; if it could
      // not (it compacted line by line), the file is indexed now, on the night that compacts
      // anyway, so that the next run reads an index instead of scanning it (opened again like any
      // run, for its lock: another run may have taken it meanwhile, which only costs that scan).
      if (this.compactionResult !== undefined && this.compactionResult.indexed !== true) {
        await Ledger.open(this.path, { autoCompact: false }).then((again) => again.close(), () => undefined);
      }
    }
  }

  /**
   * Leaves the index beside the ledger for the next run (index-file.ts), for ledgers big enough for
   * the scan to count; removed instead when the ledger is about to be compacted (rewritten). A
   * failure only costs the next run its scan.
   */
  private async keepIndex(handle: FileHandle): Promise<void> {
    try {
      if (this.compactionDue) await removeIndex(this.path);
      else if (this.rows >= MIN_ROWS_INDEX_FILE) {
        await saveIndex(this.path, handle, this.size, this.index, { rows: this.rows, damaged: this.damaged, compactedRows: this.compactedRows });
        await saveTrusted(this.path, handle, this.size, this.trustedRanges());
      }
    } catch {
      await removeIndex(this.path);
    }
  }

  private pendingOf(line: LedgerLine | IntentLine, resolve: Pending['resolve'], reject: Pending['reject'], text?: string): Pending {
    // Serialised now, so a line records the object as it was when appended.
    const bytes = this.encode(text ?? JSON.stringify(line));
    const trust = lineTrust(line);
    if (line.type === 'row' || line.type === 'intent') {
      return { bytes, type: line.type, run: line.run, target: line.target, user: line.user, holdsRemote: typeof line.remote === 'string', trust, resolve, reject };
    }
    return { bytes, type: line.type, run: line.run, target: undefined, user: undefined, holdsRemote: false, trust, resolve, reject };
  }

  /** Adds `text` and a newline to the pending bytes; returns how many bytes that was. */
  private encode(text: string): number {
    const most = text.length * 3 + 1;
    if (this.chunk === undefined || this.chunkUsed + most > this.chunk.length) {
      if (this.chunk !== undefined && this.chunkUsed > 0) this.encoded.push(this.chunk.subarray(0, this.chunkUsed));
      if (this.chunkWhole !== undefined) this.retired.push(this.chunkWhole);
      // A long run's lines pass through a few chunks, not thousands of new ones: each lived long
      // enough to be freed only by a full collection, and the allocator left the space they had
      // taken between the index's long-lived chunks (a million-row run held ~10 MB more).
      const spare = most <= CHUNK_BYTES ? this.spare.pop() : undefined;
      this.chunk = this.chunkWhole = spare ?? Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, most));
      this.chunkUsed = 0;
    }
    const length = this.chunk.write(text, this.chunkUsed, 'utf8');
    this.chunk[this.chunkUsed + length] = NEWLINE;
    this.chunkUsed += length + 1;
    return length + 1;
  }

  /** The bytes of every pending line, in order, for one write; the next line starts a new chunk. */
  private takeEncoded(): Buffer[] {
    if (this.chunk !== undefined && this.chunkUsed > 0) {
      this.encoded.push(this.chunk.subarray(0, this.chunkUsed));
      // What is left of the chunk stays for the next lines: the write only reads what it was given.
      this.chunk = this.chunk.subarray(this.chunkUsed);
      this.chunkUsed = 0;
    }
    // Written as they are (writev), not joined: a nightly run's batches of ~1 000 lines span a few
    // chunks, and a copy of each (~650 KB) was a gigabyte of short-lived buffers a million rows.
    const parts = this.encoded;
    this.encoded = [];
    return parts;
  }

  private async write(batch: readonly Pending[], parts: Buffer[]): Promise<void> {
    if (this.failure !== undefined) {
      throw new Error(`ledger ${this.path}: an earlier write failed, so no more lines are written`, { cause: this.failure });
    }
    const handle = this.handle!;
    try {
      // No position: O_APPEND puts every write at the end. A short write (a full disk) is
      // continued, and if the process dies in between, the line is torn like any other.
      for (let rest = parts; rest.length > 0; ) rest = unwritten(rest, (await handle.writev(rest)).bytesWritten);
      // We hold the lock, so we are the only writer and each line landed where the file ended.
      for (const { bytes: length, type, run, target, user, holdsRemote, trust } of batch) {
        if (type === 'row') this.remember(target!, user!, this.size, holdsRemote);
        else if (type === 'intent') this.index.recordIntent(target!, user!, this.size);
        this.own.note(this.size, type, run, target, user, holdsRemote, trust);
        this.size += length;
      }
      this.linesSinceSync += batch.length;
      if (this.linesSinceSync >= SYNC_EVERY_LINES || Date.now() - this.lastSync >= SYNC_EVERY_MS) {
        await handle.datasync();
        this.linesSinceSync = 0;
        this.lastSync = Date.now();
      }
    } catch (error) {
      // After a failed or partial write the file may end mid-line: refuse to glue more onto it.
      this.failure = error;
      throw error;
    }
  }

  private async build(): Promise<void> {
    if (this.handle === undefined) return;
    // The index the last run left, when it still matches the ledger: only what was appended
    // since is scanned.
    let from = 0;
    const loaded = await loadIndex(this.path, this.handle, this.index);
    if (loaded) {
      ({ rows: this.rows, damaged: this.damaged, compactedRows: this.compactedRows, size: from } = loaded);
    } else {
      this.index = new OffsetIndex(); // a file that failed half-way may have filled some of it
    }
    this.trusted = await loadTrusted(this.path, this.handle);
    const key: RowKey = { type: undefined, target: undefined, user: undefined, remote: false };
    for await (const { texts, offsets } of lineBatches(this.handle, this.size, from)) {
      for (let i = 0; i < texts.length; i++) this.indexLine(texts[i]!, offsets[i]!, key);
    }
  }

  private indexLine(text: string, offset: number, key: RowKey): void {
    if (scanRowKey(text, key)) {
      if (key.type === 'compacted') this.noteCompaction(text);
      if (key.type === 'intent') {
        if (key.target !== undefined && key.user !== undefined) this.index.recordIntent(key.target, key.user, offset);
        return;
      }
      if (key.type !== 'row') return;
      if (key.target === undefined || key.user === undefined) this.damaged++;
      else this.remember(key.target, key.user, offset, key.remote);
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.damaged++;
      return;
    }
    if (isRowLine(value)) this.remember(value.target, value.user, offset, typeof value.remote === 'string');
    else if (isIntentLine(value)) this.index.recordIntent(value.target, value.user, offset);
    // Run lines and types from newer versions are not ours to judge; anything else is damage.
    else if (typeof value !== 'object' || value === null || Array.isArray(value) || (value as { type?: unknown }).type === 'row') this.damaged++;
  }

  private noteCompaction(text: string): void {
    try {
      const rows = (JSON.parse(text) as { rows?: unknown }).rows;
      if (typeof rows === 'number') this.compactedRows = rows;
    } catch {
      /* a damaged marker only means compaction may come sooner */
    }
  }

  private remember(target: string, user: string, offset: number, holdsRemote: boolean): void {
    this.index.record(target, user, offset, holdsRemote);
    this.rows++;
  }

  /** The row line at `offset` if it is one for (target, user). */
  private rowAt(offset: number, target: string, user: string): RowLine | undefined {
    return this.keyedLineAt(offset, target, user, isRowLine);
  }

  /** The intent line at `offset` if it is one for (target, user). */
  private intentAt(offset: number, target: string, user: string): IntentLine | undefined {
    return this.keyedLineAt(offset, target, user, isIntentLine);
  }

  /** The line at `offset` if it is of the kind `is` accepts and names (target, user): anything
   * else (an index collision, a file changed behind our back) reads as absent. */
  private keyedLineAt<T extends { target: string; user: string }>(offset: number, target: string, user: string, is: (value: unknown) => value is T): T | undefined {
    const text = this.lineAt(offset);
    if (text === undefined) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return undefined;
    }
    if (!is(value) || value.target !== target || value.user !== user) return undefined;
    this.texts.set(value, text);
    return value;
  }

  private lineAt(offset: number): string | undefined {
    this.readBack ??= new ReadBack(this.handle!.fd);
    return this.readBack.lineAt(offset);
  }

  private assertOpen(): void {
    if (this.closing !== undefined) throw new Error(`ledger ${this.path} is closed`);
  }
}

/** A line waiting for its write (its bytes are in `encoded`): what the index needs, not the line
 * object, which a slow disk would otherwise keep alive into the old generation. */
interface Pending {
  /** The line's length in bytes, newline included. */
  readonly bytes: number;
  readonly type: string;
  readonly run: unknown;
  /** What compaction would find the line to be (trusted-lines.ts, lineTrust). */
  readonly trust: number;
  readonly target: string | undefined;
  readonly user: string | undefined;
  readonly holdsRemote: boolean;
  readonly resolve: (() => void) | undefined;
  readonly reject: ((error: unknown) => void) | undefined;
}


async function requireFolder(path: string): Promise<void> {
  const folder = dirname(path);
  const info = await stat(folder).catch(() => undefined);
  if (info === undefined || !info.isDirectory()) throw new UsageError(`ledger ${path}: folder ${folder} does not exist`);
}

/** A folder the ledger cannot be written in is the caller's to fix, not a crash. */
function explainLockFailure(path: string): (error: unknown) => never {
  return (error) => {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new UsageError(`ledger ${path}: cannot create its lock file in ${dirname(path)} (${code})`);
    }
    throw error;
  };
}

/** Read-only and missing: undefined, an empty ledger. */
async function openFile(path: string, readOnly: boolean): Promise<FileHandle | undefined> {
  try {
    return await open(path, readOnly ? 'r' : 'a+');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (readOnly && code === 'ENOENT') return undefined;
    if (code === 'EISDIR' || code === 'EACCES' || code === 'EPERM') {
      throw new UsageError(`ledger ${path} cannot be opened ${readOnly ? 'for reading' : 'for appending'}: ${code}`);
    }
    throw error;
  }
}

/** Make sure the next line starts a line of its own (after a torn one); returns the new size. */
async function endWithNewline(handle: FileHandle, size: number): Promise<number> {
  if (size === 0) return 0;
  const last = Buffer.alloc(1);
  await handle.read(last, 0, 1, size - 1);
  if (last[0] === NEWLINE) return size;
  await handle.write('\n', null);
  return size + 1;
}
