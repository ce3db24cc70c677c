import { createHash } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';

import { replaceFile, stampMatches, stampOf, type LedgerStamp } from './index-file.js';
import { MAX_LISTED, MAX_RANGES, withinLimits, type ChangeLines, type TrustedRange } from './trusted-lines.js';

// The ranges compaction may take on trust (trusted-lines.ts), kept beside the ledger
// (`<ledger>.trusted`) when a run closes it or a compaction writes it. Like the index file, only
// ever a cache, and named after the ledger it describes (device, inode, length and last bytes): a
// ledger rewritten or edited since, or a file that does not read back exactly as written (a hash
// of every byte), and no range is trusted: compaction judges every line, as it would without.
//
// After the magic line and a JSON header (the ledger's stamp and how many ranges), each range:
// float64s (start, end, how many special lines, how many change lines), the special lines' offsets
// (float64), the change lines' offsets (float64), runs, fingerprints (uint32 each) and remote flags
// (uint8), then a JSON object (uint32 length first) with its targets' latest runs and the change
// lines' run names; last, the SHA-256 of everything before it.

const MAGIC = 'avatar-import ledger trusted 1\n';

export function trustedPath(ledgerPath: string): string {
  return `${ledgerPath}.trusted`;
}

/** The ranges left beside the ledger open as `ledger`, if they describe it; else none. */
export async function loadTrusted(ledgerPath: string, ledger: FileHandle): Promise<TrustedRange[]> {
  let file: FileHandle;
  try {
    file = await open(trustedPath(ledgerPath), 'r');
  } catch {
    return [];
  }
  try {
    // Small (at most MAX_RANGES ranges of MAX_SPECIALS offsets): read whole.
    const bytes = await file.readFile();
    if (bytes.length < MAGIC.length + 4 + 32 || bytes.toString('latin1', 0, MAGIC.length) !== MAGIC) return [];
    const body = bytes.subarray(0, bytes.length - 32);
    if (!createHash('sha256').update(body).digest().equals(bytes.subarray(bytes.length - 32))) return [];
    let at = MAGIC.length;
    const headerBytes = body.readUInt32LE(at);
    at += 4;
    const header = JSON.parse(body.toString('utf8', at, at + headerBytes)) as LedgerStamp & { ranges: number };
    at += headerBytes;
    if (!Number.isSafeInteger(header.ranges) || header.ranges < 0 || header.ranges > MAX_RANGES || !(await stampMatches(ledger, header))) return [];
    const ranges: TrustedRange[] = [];
    for (let i = 0; i < header.ranges; i++) {
      const [start, end, specialCount, changeCount] = [0, 8, 16, 24].map((x) => body.readDoubleLE(at + x)) as [number, number, number, number];
      at += 32;
      if (![specialCount, changeCount].every((n) => Number.isSafeInteger(n) && n >= 0) || specialCount + changeCount > MAX_LISTED) return [];
      const take = <T extends Float64Array | Uint32Array | Uint8Array>(array: T): T => {
        Buffer.from(array.buffer).set(body.subarray(at, at + array.byteLength));
        at += array.byteLength;
        return array;
      };
      const specials = take(new Float64Array(specialCount));
      const offsets = take(new Float64Array(changeCount));
      const run = take(new Uint32Array(changeCount));
      const hi = take(new Uint32Array(changeCount));
      const lo = take(new Uint32Array(changeCount));
      const remote = take(new Uint8Array(changeCount));
      const length = body.readUInt32LE(at);
      at += 4;
      const names = JSON.parse(body.toString('utf8', at, at + length)) as { latestRuns?: unknown; runs?: unknown };
      at += length;
      const range = checked(start, end, specials, { offsets, run, runs: names.runs as string[], hi, lo, remote }, names.latestRuns, header.size, ranges.at(-1)?.end ?? 0);
      if (range === undefined) return [];
      ranges.push(range);
    }
    return at === body.length ? ranges : [];
  } catch {
    return []; // short, damaged or not ours: nothing is trusted
  } finally {
    await file.close();
  }
}

/** Leaves `ranges` (those within the first `size` bytes) beside the ledger open as `ledger`;
 * none: removes what was there. The ledger's lock is held. */
export async function saveTrusted(ledgerPath: string, ledger: FileHandle, size: number, ranges: readonly TrustedRange[]): Promise<void> {
  const kept = withinLimits(ranges.filter((range) => range.end <= size));
  const path = trustedPath(ledgerPath);
  if (kept.length === 0) {
    await unlink(path).catch(() => undefined);
    return;
  }
  const header = Buffer.from(JSON.stringify({ ...(await stampOf(ledger, size)), ranges: kept.length }), 'utf8');
  const parts: Uint8Array[] = [Buffer.from(MAGIC, 'latin1'), uint32(header.length), header];
  const bytesOf = (array: Float64Array | Uint32Array | Uint8Array): Uint8Array => new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  for (const { start, end, specials, changes, latestRuns } of kept) {
    const names = Buffer.from(JSON.stringify({ latestRuns, runs: changes.runs }), 'utf8');
    parts.push(bytesOf(Float64Array.of(start, end, specials.length, changes.offsets.length)), bytesOf(specials));
    parts.push(bytesOf(changes.offsets), bytesOf(changes.run), bytesOf(changes.hi), bytesOf(changes.lo), bytesOf(changes.remote), uint32(names.length), names);
  }
  const body = Buffer.concat(parts);
  await replaceFile(path, async (file) => {
    await file.write(Buffer.concat([body, createHash('sha256').update(body).digest()]));
  });
}

function uint32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(value);
  return bytes;
}

/** A range as read, if it makes sense: after `after`, within the ledger's described length, its
 * listed lines ascending inside it, its runs strings. */
function checked(start: number, end: number, specials: Float64Array, changes: ChangeLines, latestRuns: unknown, size: number, after: number): TrustedRange | undefined {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < after || end <= start || end > size) return undefined;
  const inside = (offsets: Float64Array): boolean => offsets.every((offset, i) => offset >= start && offset < end && (i === 0 || offset > offsets[i - 1]!));
  if (!inside(specials) || !inside(changes.offsets)) return undefined;
  if (!Array.isArray(changes.runs) || !changes.runs.every((run) => typeof run === 'string') || !changes.run.every((n) => n < changes.runs.length)) return undefined;
  const pairs = Array.isArray(latestRuns) && latestRuns.every((pair) => Array.isArray(pair) && pair.length === 2 && typeof pair[0] === 'string' && typeof pair[1] === 'string');
  return pairs ? { start, end, specials, changes, latestRuns: latestRuns as [string, string][] } : undefined;
}
