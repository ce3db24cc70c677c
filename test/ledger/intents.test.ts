import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { Ledger } from '../../src/ledger/ledger.js';
import type { IntentLine } from '../../src/ledger/lines.js';
import { compactLedger } from '../../src/ledger/tools/compact.js';
import { mergeLedgers } from '../../src/ledger/tools/merge.js';
import { TARGET, failedRow, jsonl, okRow, runLine, withTempDir } from './support.js';

// Intent lines (issue 11): written before a target is changed, so that a write whose row line a
// kill lost is still known to be the tool's own on the next run.

function intent(user: string, row: number, extra: Partial<IntentLine> = {}): IntentLine {
  const { type: _type, status: _status, remote: _remote, ...base } = okRow(user, row, { run: 'run-2', ts: '2025-01-01T00:00:03.000Z' });
  return { ...base, type: 'intent', outputSha256: `new-${row}`, bytes: 5000 + row, remote: `mxc://hs/new-${row}`, ...extra } as IntentLine;
}

describe('intent lines', () => {
  test('an intent no row line follows is pending: lookup returns it next to the latest and held lines', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      const ok = okRow('ana', 1);
      const pending = intent('ana', 1);
      const ledger = await Ledger.open(path, {});
      await ledger.append(runLine());
      await ledger.append(ok);
      await ledger.append(pending);
      expect(await ledger.lookup(TARGET, 'ana')).toEqual({ latest: ok, held: ok, intent: pending });
      expect(ledger.rowsIndexed).toBe(1);
      await ledger.close();

      const again = await Ledger.open(path, {});
      expect(await again.lookup(TARGET, 'ana')).toEqual({ latest: ok, held: ok, intent: pending });
      await again.close();
    }));

  test('a row line after the intent settles it: no intent is returned any more', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      const done = okRow('ana', 1, { run: 'run-2', remote: 'mxc://hs/new-1' });
      await writeFile(path, jsonl(runLine(), okRow('ana', 1), intent('ana', 1), done));
      const ledger = await Ledger.open(path, {});
      expect(await ledger.lookup(TARGET, 'ana')).toEqual({ latest: done, held: done });
      await ledger.close();
    }));

  test('a failed row line does not settle it: an aborted write may have landed all the same', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      const ok = okRow('ana', 1);
      const failed = failedRow('ana', 1, { run: 'run-2', error: { code: 'interrupted', message: 'aborted' } });
      await writeFile(path, jsonl(runLine(), ok, intent('ana', 1), failed));
      const ledger = await Ledger.open(path, {});
      expect(await ledger.lookup(TARGET, 'ana')).toEqual({ latest: failed, held: ok, intent: intent('ana', 1) });
      await ledger.close();
    }));

  test('a user known only from an intent (the first run was killed mid-write) has nothing but the intent', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      await writeFile(path, jsonl(runLine(), intent('ana', 1)));
      const ledger = await Ledger.open(path, {});
      expect(await ledger.lookup(TARGET, 'ana')).toEqual({ intent: intent('ana', 1) });
      await ledger.close();
    }));

  test('compaction keeps pending intents and drops settled ones: the next run is told the same', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      const settled = okRow('bo', 2, { run: 'run-2', remote: 'mxc://hs/new-2' });
      await writeFile(path, jsonl(runLine(), okRow('ana', 1), okRow('bo', 2), intent('ana', 1), intent('bo', 2), settled, failedRow('cy', 3)));
      const before = await Ledger.open(path, { autoCompact: false });
      const answers = [await before.lookup(TARGET, 'ana'), await before.lookup(TARGET, 'bo')];
      await before.close();

      await compactLedger(path, { keepRuns: 0 });
      const text = await readFile(path, 'utf8');
      expect(text.split('\n').filter((line) => line.includes('"type":"intent"'))).toEqual([JSON.stringify(intent('ana', 1))]);
      const after = await Ledger.open(path, { autoCompact: false });
      expect([await after.lookup(TARGET, 'ana'), await after.lookup(TARGET, 'bo')]).toEqual(answers);
      await after.close();
    }));

  test('merge keeps intent lines, so a shard killed mid-write is recognised after merging', () =>
    withTempDir(async (dir) => {
      const shard = join(dir, 'a.jsonl');
      const out = join(dir, 'out.jsonl');
      await writeFile(shard, jsonl(runLine(), okRow('ana', 1), intent('ana', 1)));
      await mergeLedgers(out, [shard]);
      const merged = await Ledger.open(out, {});
      expect((await merged.lookup(TARGET, 'ana')).intent).toEqual(intent('ana', 1));
      await merged.close();
    }));
});
