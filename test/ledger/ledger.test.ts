import { existsSync } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { UsageError } from '../../src/errors.js';
import { Ledger } from '../../src/ledger/ledger.js';
import type { RowLine } from '../../src/ledger/lines.js';
import { readLines } from '../../src/ledger/read.js';
import { TARGET, failedRow, jsonl, okRow, runLine, withTempDir } from './support.js';

async function reopen(path: string): Promise<Ledger> {
  return Ledger.open(path, {});
}

describe('Ledger', () => {
  test('a new ledger is created empty and knows nothing', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'people.ledger.jsonl');
      const ledger = await Ledger.open(path, {});
      expect(existsSync(path)).toBe(true);
      expect(ledger.rowsIndexed).toBe(0);
      expect(await ledger.lookup(TARGET, 'ana')).toEqual({});
      await ledger.close();
    }));

  test('latest is the last row line for the user; held is the last one that says what the target holds', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      const ok = okRow('ana', 1);
      const failed = failedRow('ana', 1);
      const ledger = await Ledger.open(path, {});
      await ledger.append(runLine());
      await ledger.append(ok);
      await ledger.append(failed);
      expect(await ledger.lookup(TARGET, 'ana')).toEqual({ latest: failed, held: ok });
      await ledger.close();

      const again = await reopen(path);
      expect(await again.lookup(TARGET, 'ana')).toEqual({ latest: failed, held: ok });
      expect(again.rowsIndexed).toBe(2);
      await again.close();
    }));

  test('a skipped line that copies remote forward becomes what the target holds', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      const skipped: RowLine = { ...okRow('ana', 1), run: 'run-2', status: 'skipped', reason: 'unchanged' };
      await writeFile(path, jsonl(okRow('ana', 1), skipped));
      const ledger = await reopen(path);
      expect(await ledger.lookup(TARGET, 'ana')).toEqual({ latest: skipped, held: skipped });
      await ledger.close();
    }));

  test('a user with only failures has a latest line and nothing held', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      await writeFile(path, jsonl(failedRow('ana', 1)));
      const ledger = await reopen(path);
      expect(await ledger.lookup(TARGET, 'ana')).toEqual({ latest: failedRow('ana', 1) });
      await ledger.close();
    }));

  test('a line with remote but no output hash or size cannot be checked, so nothing counts as held', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      const { outputSha256: _hash, ...incomplete } = okRow('ana', 1);
      await writeFile(path, jsonl(incomplete));
      const ledger = await reopen(path);
      expect(await ledger.lookup(TARGET, 'ana')).toEqual({ latest: incomplete });
      await ledger.close();
    }));

  test('the same user on another target is another key', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      const ledger = await Ledger.open(path, {});
      await ledger.append(okRow('ana', 1));
      expect(await ledger.lookup('matrix:https://hs.example', 'ana')).toEqual({});
      // Where target ends and user begins is part of the key.
      await ledger.append(okRow('b', 2, { target: 'dir:a' }));
      expect(await ledger.lookup('dir:ab', '')).toEqual({});
      expect((await ledger.lookup('dir:a', 'b')).latest?.row).toBe(2);
      await ledger.close();
    }));

  test('user ids with any characters are found again after reopening', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      const users = ['ana', 'quote"d', 'back\\slash', 'new\nline', 'tab\tbed', 'ünï😀', '\u2028\u2029', ' padded ', '{"user":"x"}', ''];
      const ledger = await Ledger.open(path, {});
      for (const [i, user] of users.entries()) await ledger.append(okRow(user, i + 1));
      await ledger.close();

      const again = await reopen(path);
      for (const [i, user] of users.entries()) expect((await again.lookup(TARGET, user)).held?.row).toBe(i + 1);
      expect(again.keys).toBe(users.length);
      await again.close();
    }));

  test('lines are written in the order append was called, one line each, even when not awaited', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      const ledger = await Ledger.open(path, {});
      await Promise.all(Array.from({ length: 500 }, (_, i) => ledger.append(okRow(`u${i}`, i + 1))));
      await ledger.close();
      const rows: number[] = [];
      for await (const line of readLines(path)) if (line.type === 'row') rows.push(line.row);
      expect(rows).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
      expect((await readFile(path, 'utf8')).split('\n')).toHaveLength(501);
    }));

  test('lines written through many buffers, reused once written, come out byte for byte in order', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      const ledger = await Ledger.open(path, {});
      // ~2 KB a line: 120 lines fill a 256 KB buffer, so 3 000 pass through a dozen of them.
      const lines = Array.from({ length: 3_000 }, (_, i) => okRow(`u${i}`, i + 1, { source: `photos/${String(i).repeat(400 + (i % 7))}.jpg` }));
      for (let at = 0; at < lines.length; at += 250) {
        const burst = lines.slice(at, at + 250);
        // Some awaited, some not (the fast path's skips), in one stream of writes.
        burst.forEach((line, i) => (i % 3 === 0 ? void ledger.append(line) : ledger.enqueue(line)));
        // The next burst is encoded while this one is being written (a write needs the event loop).
        await Promise.resolve();
      }
      await ledger.drained();
      await ledger.close();
      expect(await readFile(path, 'utf8')).toBe(jsonl(...lines));
    }));

  test('run lines and line types from newer versions are not rows; broken lines are skipped and counted', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      await writeFile(
        path,
        jsonl(runLine(), okRow('ana', 1)) + 'not json\n' + jsonl({ type: 'row', user: 'no target' }, { type: 'note', text: 'from v9' }, [1]) + jsonl(okRow('bo', 2)),
      );
      const ledger = await reopen(path);
      expect(ledger.rowsIndexed).toBe(2);
      expect(ledger.damagedLines).toBe(3);
      expect((await ledger.lookup(TARGET, 'bo')).latest?.row).toBe(2);
      await ledger.close();
    }));

  test('a torn last line is ignored, and the next line starts on a line of its own', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      const torn = JSON.stringify(okRow('bo', 2)).slice(0, 40);
      await writeFile(path, jsonl(runLine(), okRow('ana', 1)) + torn);

      const ledger = await reopen(path);
      expect(await ledger.lookup(TARGET, 'bo')).toEqual({});
      expect(ledger.rowsIndexed).toBe(1);
      await ledger.append(okRow('bo', 3));
      await ledger.close();

      const text = await readFile(path, 'utf8');
      expect(text.endsWith('\n')).toBe(true);
      expect(text).toContain(torn + '\n'); // bytes are never removed
      const again = await reopen(path);
      expect((await again.lookup(TARGET, 'bo')).latest?.row).toBe(3);
      expect((await again.lookup(TARGET, 'ana')).latest?.row).toBe(1);
      expect(again.damagedLines).toBe(1);
      await again.close();
    }));

  test('a line that no longer names the user is never returned: an index collision redoes a row, never skips one', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      await writeFile(path, jsonl(runLine(), okRow('ana', 1)));
      const ledger = await reopen(path);
      // What a fingerprint collision looks like from lookup's side: the offset it finds holds
      // another user's line. Rewrite the line in place with one of the same length for "anb".
      const text = await readFile(path, 'utf8');
      const impostor = JSON.stringify(okRow('anb', 1));
      const file = await open(path, 'r+');
      await file.write(impostor, text.indexOf('{"type":"row"'));
      await file.close();
      expect(await ledger.lookup(TARGET, 'ana')).toEqual({});
      await ledger.close();
    }));

  test('append resolves after the line is in the file, and lookup sees it at once', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      const ledger = await Ledger.open(path, {});
      await ledger.append(okRow('ana', 1));
      expect(await readFile(path, 'utf8')).toBe(jsonl(okRow('ana', 1)));
      expect((await ledger.lookup(TARGET, 'ana')).held).toEqual(okRow('ana', 1));
      expect(ledger.rowsIndexed).toBe(1);
      await ledger.close();
    }));

  test('a line longer than the first read at its offset is read back whole', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      const long = failedRow('ana', 1, { error: { code: 'target_error', message: 'x'.repeat(100_000) } });
      await writeFile(path, jsonl(okRow('ana', 1), long, okRow('bo', 2)));
      const ledger = await reopen(path);
      expect(await ledger.lookup(TARGET, 'ana')).toEqual({ latest: long, held: okRow('ana', 1) });
      await ledger.close();
    }));

  test('a closed ledger refuses appends and lookups; closing twice is fine', () =>
    withTempDir(async (dir) => {
      const ledger = await Ledger.open(join(dir, 'l.jsonl'), {});
      await ledger.close();
      await ledger.close();
      await expect(ledger.append(okRow('ana', 1))).rejects.toThrow(/closed/);
      await expect(ledger.lookup(TARGET, 'ana')).rejects.toThrow(/closed/);
    }));

  test('a missing folder is a usage error naming it', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'nope', 'l.jsonl');
      for (const readOnly of [false, true]) {
        const opening = Ledger.open(path, { readOnly });
        await expect(opening).rejects.toBeInstanceOf(UsageError);
        await expect(opening).rejects.toThrow(join(dir, 'nope'));
      }
    }));
});

describe('Ledger opened read-only (dry run)', () => {
  test('a missing ledger is empty and is not created', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      const ledger = await Ledger.open(path, { readOnly: true });
      expect(await ledger.lookup(TARGET, 'ana')).toEqual({});
      await ledger.close();
      expect(existsSync(path)).toBe(false);
      expect(existsSync(`${path}.lock`)).toBe(false);
    }));

  test('it reads what is there, takes no lock, writes nothing and leaves a torn line alone', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      const before = jsonl(runLine(), okRow('ana', 1)) + '{"type":"row","us';
      await writeFile(path, before);
      const writer = await Ledger.open(join(dir, 'other.jsonl'), {}); // unrelated, just to prove no interference
      const ledger = await Ledger.open(path, { readOnly: true });
      expect((await ledger.lookup(TARGET, 'ana')).held?.row).toBe(1);
      await expect(ledger.append(okRow('bo', 2))).rejects.toThrow(/read-only/);
      expect(existsSync(`${path}.lock`)).toBe(false);
      await ledger.close();
      await writer.close();
      expect(await readFile(path, 'utf8')).toBe(before);
    }));

  test('it can read a ledger another run holds the lock of', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      const writer = await Ledger.open(path, {});
      await writer.append(okRow('ana', 1));
      const reader = await Ledger.open(path, { readOnly: true });
      expect((await reader.lookup(TARGET, 'ana')).latest?.row).toBe(1);
      await reader.close();
      await writer.close();
    }));
});
