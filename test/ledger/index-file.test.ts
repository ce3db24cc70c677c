import { existsSync } from 'node:fs';
import { appendFile, copyFile, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { indexPath } from '../../src/ledger/index-file.js';
import { Ledger, type LookupResult } from '../../src/ledger/ledger.js';
import { compactLedger } from '../../src/ledger/tools/compact.js';
import { failedRow, jsonl, okRow, runLine, TARGET, withTempDir } from './support.js';

// A ledger of 12 000 users, each with an ok line and, for every third, a failure after it.
const USERS = 12_000;
const users = Array.from({ length: USERS }, (_, i) => `user${i}`);
const ledgerText = jsonl(runLine(), ...users.map((user, i) => okRow(user, i + 1)), ...users.filter((_, i) => i % 3 === 0).map((user, i) => failedRow(user, i + 1)));

async function lookups(path: string, who: readonly string[] = users): Promise<{ found: LookupResult[]; rows: number; damaged: number }> {
  const ledger = await Ledger.open(path, { readOnly: true });
  try {
    return { found: await Promise.all(who.map((user) => ledger.lookup(TARGET, user))), rows: ledger.rowsIndexed, damaged: ledger.damagedLines };
  } finally {
    await ledger.close();
  }
}

/** Opened and closed for writing: what a run that appends nothing leaves. */
async function touch(path: string): Promise<void> {
  await (await Ledger.open(path, { autoCompact: false })).close();
}

describe('the index file beside the ledger', () => {
  test('a run leaves it; the next one reads it and answers exactly as a scan of the whole ledger does', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'ledger.jsonl');
      await writeFile(path, ledgerText + 'torn and damaged\n');
      const scanned = await lookups(path);
      expect(existsSync(indexPath(path))).toBe(false);
      await touch(path);
      expect(existsSync(indexPath(path))).toBe(true);
      expect(await lookups(path)).toEqual(scanned);
      expect(scanned.rows).toBe(USERS + USERS / 3);
      expect(scanned.damaged).toBe(1);
    }));

  test('lines appended after it was written (a run killed before it could write one) are scanned', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'ledger.jsonl');
      await writeFile(path, ledgerText);
      await touch(path);
      const later = okRow('user5', 99_999, { run: 'run-3', outputSha256: 'newer' });
      await appendFile(path, jsonl(later, okRow('newcomer', 100_000)));
      const { found, rows } = await lookups(path, ['user5', 'newcomer']);
      expect(found.map((result) => result.latest?.outputSha256)).toEqual(['newer', 'out-100000']);
      expect(rows).toBe(USERS + USERS / 3 + 2);
    }));

  test('is not used for a ledger rewritten since (compacted)', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'ledger.jsonl');
      await writeFile(path, ledgerText);
      await touch(path);
      const stale = join(dir, 'stale.index');
      await copyFile(indexPath(path), stale);
      await compactLedger(path, {});
      expect(existsSync(indexPath(path))).toBe(false);
      await copyFile(stale, indexPath(path));
      // The old offsets would find no line for anyone.
      expect((await lookups(path, ['user7'])).found[0]?.latest?.outputSha256).toBe('out-8');
    }));

  test('is not used for a ledger whose last bytes changed in place', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'ledger.jsonl');
      await writeFile(path, ledgerText);
      await touch(path);
      const last = ledgerText.lastIndexOf('"user');
      const renamed = `${ledgerText.slice(0, last)}"userZZZZZ"${ledgerText.slice(last + '"user11997"'.length)}`;
      expect(renamed.length).toBe(ledgerText.length);
      await writeFile(path, renamed);
      // From the stale index, userZZZZZ would be unknown.
      expect((await lookups(path, ['userZZZZZ'])).found[0]?.latest?.status).toBe('failed');
    }));

  test('a damaged index file is not used: the ledger is scanned', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'ledger.jsonl');
      await writeFile(path, ledgerText);
      const scanned = await lookups(path);
      await touch(path);
      const bytes = await readFile(indexPath(path));
      // The high bytes of a key's `latest` offset, 30 keys from the end (the file ends with a
      // 32-byte checksum; a key is five float64: two halves of a fingerprint, three offsets).
      bytes[bytes.length - 32 - 30 * 40 + 16 + 5] ^= 0x0f;
      await writeFile(indexPath(path), bytes);
      expect(await lookups(path)).toEqual(scanned);
    }));

  test('a ledger compacted as a run closes it is indexed again, so the next run does not scan it', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'ledger.jsonl');
      const skips = users.map((user, i) => okRow(user, i + 1, { run: 'run-2', status: 'skipped' }));
      await writeFile(path, ledgerText + jsonl(...skips, ...skips));
      const ledger = await Ledger.open(path, { autoCompact: { minRows: 0 } });
      await ledger.close();
      expect(ledger.compaction?.result).toBeDefined();
      const { mtimeMs } = await stat(indexPath(path));
      const afterCompaction = await lookups(path);
      await rm(indexPath(path));
      expect(afterCompaction).toEqual(await lookups(path));
      expect(mtimeMs).toBeGreaterThanOrEqual((await stat(path)).mtimeMs);
    }));

  test('a small ledger (quick to scan) gets none', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'ledger.jsonl');
      await writeFile(path, jsonl(runLine(), okRow('ana', 1)));
      await touch(path);
      expect(existsSync(indexPath(path))).toBe(false);
    }));
});
