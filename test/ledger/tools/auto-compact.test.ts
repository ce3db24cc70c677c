import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { Ledger, type LedgerOptions } from '../../../src/ledger/ledger.js';
import type { RowLine } from '../../../src/ledger/lines.js';
import { okRow, runLine, withTempDir } from '../support.js';

// Nightly runs append a line per user even when nothing changed; the ledger compacts itself as it
// closes once its row lines pass twice what the next runs need.

const USERS = Array.from({ length: 20 }, (_, i) => `user${i}`);

/** One night: a run line and a line per user (`ok` on night 1, skipped as unchanged after). */
async function night(path: string, n: number, options: LedgerOptions, change: (user: string) => boolean = () => n === 1): Promise<Ledger> {
  const ledger = await Ledger.open(path, options);
  await ledger.append(runLine(`n${n}`));
  for (const [i, user] of USERS.entries()) {
    const line: RowLine = change(user)
      ? okRow(user, i + 1, { run: `n${n}`, outputSha256: `${user}-${n}`, remote: `${user}-${n}.jpg`, previous: `${user}-before-${n}` })
      : { ...okRow(user, i + 1, { run: `n${n}` }), status: 'skipped' };
    await ledger.append(line);
  }
  await ledger.close();
  return ledger;
}

async function rowLines(path: string): Promise<number> {
  return (await readFile(path, 'utf8')).split('\n').filter((l) => l.includes('"type":"row"')).length;
}

describe('automatic compaction on close', () => {
  test('nightly skips stay bounded: the file never passes about twice what the next run needs', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      const options: LedgerOptions = { autoCompact: { minRows: 0, keepRuns: 2 } };
      const sizes: number[] = [];
      let compactions = 0;
      for (let n = 1; n <= 12; n++) {
        const ledger = await night(path, n, options);
        if (ledger.compaction?.result) compactions++;
        expect(ledger.compaction?.error).toBeUndefined();
        sizes.push(await rowLines(path));
      }
      // One line per user is live (the latest skip holds the remote): compaction whenever the
      // file passes 2 × 20 rows, back to 20.
      expect(Math.max(...sizes)).toBeLessThanOrEqual(2 * USERS.length);
      expect(compactions).toBeGreaterThanOrEqual(5);
      const reopened = await Ledger.open(path, { readOnly: true });
      expect(await reopened.lookup('dir:/srv/avatars', 'user3')).toMatchObject({ latest: { run: 'n12', status: 'skipped' }, held: { run: 'n12' } });
      await reopened.close();
    }));

  test('a ledger whose recent runs all changed something is not rewritten every night', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      // keepRuns 3: the ok lines of the last three runs stay, 3-4 lines per user after compaction.
      const options: LedgerOptions = { autoCompact: { minRows: 0, keepRuns: 3 } };
      const compacted: number[] = [];
      for (let n = 1; n <= 12; n++) {
        const ledger = await night(path, n, options, () => true);
        if (ledger.compaction?.result) compacted.push(n);
      }
      // Each compaction keeps ~3 nights, so the next is due only when the file has doubled again.
      for (let i = 1; i < compacted.length; i++) expect(compacted[i]! - compacted[i - 1]!).toBeGreaterThanOrEqual(3);
      expect(compacted.length).toBeGreaterThan(0);
    }));

  test('small ledgers, dry runs and autoCompact: false are left alone', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      for (let n = 1; n <= 5; n++) expect((await night(path, n, {})).compaction).toBeUndefined(); // under the default minimum
      expect(await rowLines(path)).toBe(5 * USERS.length);
      expect((await night(path, 6, { autoCompact: false })).compaction).toBeUndefined();
      const dry = await Ledger.open(path, { readOnly: true, autoCompact: { minRows: 0 } });
      expect(dry.compactionDue).toBe(false);
      await dry.close();
      expect(await rowLines(path)).toBe(6 * USERS.length);
    }));
});
