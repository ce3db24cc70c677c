import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { LedgerLine } from '../../src/ledger/lines.js';
import { readLines } from '../../src/ledger/read.js';
import { jsonl, okRow, runLine, withTempDir } from './support.js';

async function all(path: string): Promise<LedgerLine[]> {
  const lines: LedgerLine[] = [];
  for await (const line of readLines(path)) lines.push(line);
  return lines;
}

describe('readLines', () => {
  test('yields run and row lines in file order, skipping what it cannot read and a torn last line', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      await writeFile(path, jsonl(runLine(), okRow('ana', 1)) + 'garbage\n' + jsonl({ type: 'note' }, okRow('bo', 2)) + '{"type":"row","user":"cy"');
      expect(await all(path)).toEqual([runLine(), okRow('ana', 1), okRow('bo', 2)]);
    }));

  test('a line longer than the read buffer comes back whole', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      const long = okRow('ana', 1, { error: { code: 'target_error', message: 'x'.repeat(3 << 20) } });
      await writeFile(path, jsonl(long, okRow('bo', 2)));
      expect(await all(path)).toEqual([long, okRow('bo', 2)]);
    }));

  test('a missing ledger has no lines', () =>
    withTempDir(async (dir) => {
      expect(await all(join(dir, 'missing.jsonl'))).toEqual([]);
    }));
});
