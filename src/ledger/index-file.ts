import { createHash } from 'node:crypto';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';

import type { OffsetIndex } from './offset-index.js';

// The ledger's index, kept beside it (`<ledger>.index`) when a run closes it, so that the next run
// reads the index instead of scanning the whole ledger again (0.4 s of a nightly run of 100 000
// unchanged rows went to that scan) and scans only what was appended since.
//
// Only ever a cache. It names the ledger it was made from (device, inode, length, and a hash of
// the bytes just before that length); a ledger rewritten since (compacted, merged, edited: a new
// file, or other bytes there) or shorter does not match, and the whole ledger is scanned as
// before. What it holds is checked again anyway: every line a lookup reads back must name the
// (target, user) asked for, or it counts as absent and the row is redone, never wrongly skipped.
// A kill while writing it leaves a temp file and the previous index, which simply matches less.

const MAGIC = 'avatar-import ledger index 1\n';
/** Bytes before the indexed length whose hash the index keeps. */
const TAIL_BYTES = 4096;
/** Keys per read or write, so that neither holds the whole index at once (memory stays flat). */
const KEYS_PER_CHUNK = 8192;

/** Below this many row lines, scanning the ledger at open is quick enough: no index file. */
export const MIN_ROWS_INDEX_FILE = 10_000;

/** What the ledger counts besides the index (see Ledger). */
export interface IndexCounts {
  readonly rows: number;
  readonly damaged: number;
  readonly compactedRows: number;
}

interface Header extends IndexCounts {
  readonly size: number;
  readonly dev: number;
  readonly ino: number;
  readonly tail: string;
  readonly keys: number;
}

export function indexPath(ledgerPath: string): string {
  return `${ledgerPath}.index`;
}

/**
 * Fills the empty `index` from the index file of the ledger open as `ledger`, if it matches;
 * returns the length it covers (scan from there) and the counts, or undefined: scan it all, into
 * a new index (this one may be half filled).
 */
export async function loadIndex(ledgerPath: string, ledger: FileHandle, index: OffsetIndex): Promise<(IndexCounts & { readonly size: number }) | undefined> {
  let file: FileHandle;
  try {
    file = await open(indexPath(ledgerPath), 'r');
  } catch {
    return undefined;
  }
  try {
    const head = Buffer.alloc(MAGIC.length + 4);
    if ((await file.read(head, 0, head.length, 0)).bytesRead !== head.length || head.toString('latin1', 0, MAGIC.length) !== MAGIC) return undefined;
    const headerBytes = head.readUInt32LE(MAGIC.length);
    if (headerBytes > 1 << 16) return undefined;
    const text = Buffer.alloc(headerBytes);
    if ((await file.read(text, 0, headerBytes, head.length)).bytesRead !== headerBytes) return undefined;
    const header = parseHeader(text.toString('utf8'));
    if (header === undefined || !(await matches(ledger, header))) return undefined;
    let at = head.length + headerBytes;
    // Sized once for every key, instead of growing (and copying) as they come.
    index.reserve(header.keys);
    const hash = createHash('sha256').update(head).update(text);
    const chunk = new Float64Array(KEYS_PER_CHUNK * 5);
    const bytes = Buffer.from(chunk.buffer);
    for (let done = 0; done < header.keys; ) {
      const keys = Math.min(KEYS_PER_CHUNK, header.keys - done);
      const { bytesRead } = await file.read(bytes, 0, keys * 40, at);
      if (bytesRead !== keys * 40) return undefined;
      hash.update(bytes.subarray(0, bytesRead));
      index.importKeys(chunk, keys);
      at += bytesRead;
      done += keys;
    }
    // Every byte as written (a torn or damaged file would give wrong offsets, or none).
    const sum = Buffer.alloc(32);
    if ((await file.read(sum, 0, 32, at)).bytesRead !== 32 || !sum.equals(hash.digest())) return undefined;
    return { size: header.size, rows: header.rows, damaged: header.damaged, compactedRows: header.compactedRows };
  } catch {
    return undefined;
  } finally {
    await file.close();
  }
}

/** Writes the index of the ledger open as `ledger`, `size` bytes long, for the next run. */
export async function saveIndex(ledgerPath: string, ledger: FileHandle, size: number, index: OffsetIndex, counts: IndexCounts): Promise<void> {
  const { dev, ino } = await ledger.stat();
  const header: Header = { size, dev, ino, tail: await tailHash(ledger, size), keys: index.size, ...pick(counts) };
  const text = Buffer.from(JSON.stringify(header), 'utf8');
  const head = Buffer.alloc(MAGIC.length + 4);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(text.length, MAGIC.length);
  await replaceFile(indexPath(ledgerPath), async (file) => {
    const hash = createHash('sha256').update(head).update(text);
    await file.write(Buffer.concat([head, text]));
    const chunk = new Float64Array(KEYS_PER_CHUNK * 5);
    for (let done = 0; done < header.keys; ) {
      const keys = Math.min(KEYS_PER_CHUNK, header.keys - done);
      index.exportKeys(done, keys, chunk);
      const bytes = new Uint8Array(chunk.buffer, 0, keys * 40);
      hash.update(bytes);
      await file.write(bytes);
      done += keys;
    }
    await file.write(hash.digest());
  });
}

/** Writes the file at `path` (mode 0600) through a temp file renamed over it, so that a kill
 * leaves the old one or the new one. The ledger's lock is held: no other process writes the temp
 * file. */
export async function replaceFile(path: string, write: (file: FileHandle) => Promise<void>): Promise<void> {
  const temp = `${path}.tmp`;
  const file = await open(temp, 'w', 0o600);
  try {
    await write(file);
  } catch (error) {
    await file.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await file.close();
  await rename(temp, path);
}

/** Removes the index file, and what compaction may take on trust (trusted-file.ts): the ledger
 * is about to be rewritten. */
export async function removeIndex(ledgerPath: string): Promise<void> {
  await unlink(indexPath(ledgerPath)).catch(() => undefined);
  await unlink(`${ledgerPath}.trusted`).catch(() => undefined);
}

/** What names the ledger open as `ledger`, `size` bytes long: a file beside it that holds this
 * describes it while `stampMatches`. */
export interface LedgerStamp {
  readonly size: number;
  readonly dev: number;
  readonly ino: number;
  readonly tail: string;
}

export async function stampOf(ledger: FileHandle, size: number): Promise<LedgerStamp> {
  const { dev, ino } = await ledger.stat();
  return { size, dev, ino, tail: await tailHash(ledger, size) };
}

/** The same file (device and inode), at least as long, with the same bytes before `size`. */
export async function stampMatches(ledger: FileHandle, stamp: LedgerStamp): Promise<boolean> {
  return matches(ledger, { ...stamp, keys: 0, rows: 0, damaged: 0, compactedRows: 0 });
}

function pick({ rows, damaged, compactedRows }: IndexCounts): IndexCounts {
  return { rows, damaged, compactedRows };
}

function parseHeader(text: string): Header | undefined {
  try {
    const value = JSON.parse(text) as Partial<Header>;
    const numbers = [value.size, value.dev, value.ino, value.keys, value.rows, value.damaged, value.compactedRows];
    if (numbers.some((n) => typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) || typeof value.tail !== 'string') return undefined;
    return value as Header;
  } catch {
    return undefined;
  }
}

async function matches(ledger: FileHandle, header: Header): Promise<boolean> {
  const { dev, ino, size } = await ledger.stat();
  if (dev !== header.dev || ino !== header.ino || size < header.size) return false;
  return (await tailHash(ledger, header.size)) === header.tail;
}

async function tailHash(ledger: FileHandle, size: number): Promise<string> {
  const start = Math.max(0, size - TAIL_BYTES);
  const bytes = Buffer.alloc(size - start);
  const { bytesRead } = await ledger.read(bytes, 0, bytes.length, start);
  return createHash('sha256').update(bytes.subarray(0, bytesRead)).update(String(size)).digest('hex');
}
