import { appendFileSync, closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { ReadBack } from '../../src/ledger/read-back.js';
import { withTempDir } from './support.js';

/** Lines of varied length and the byte offset each starts at. */
function lines(count: number, long: (i: number) => number = () => 0): { text: string; offsets: number[]; lines: string[] } {
  const out: string[] = [];
  const offsets: number[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const line = JSON.stringify({ row: i, user: `user${i}`, pad: 'é'.repeat(i % 700), more: 'x'.repeat(long(i)) });
    offsets.push(at);
    out.push(line);
    at += Buffer.byteLength(line) + 1;
  }
  return { text: out.map((line) => `${line}\n`).join(''), offsets, lines: out };
}

function withFile(text: string, body: (fd: number, path: string) => void): Promise<void> {
  return withTempDir(async (dir) => {
    const path = join(dir, 'ledger.jsonl');
    writeFileSync(path, text);
    const fd = openSync(path, 'r');
    try {
      body(fd, path);
    } finally {
      closeSync(fd);
    }
  });
}

describe('ReadBack', () => {
  test('reads every line back whole, walking forward (as a nightly run does) or jumping about', async () => {
    const file = lines(3000);
    await withFile(file.text, (fd) => {
      const forward = new ReadBack(fd);
      expect(file.offsets.map((offset) => forward.lineAt(offset))).toEqual(file.lines);
      const jumping = new ReadBack(fd);
      const order = file.offsets.map((_, i) => (i * 7919) % file.offsets.length);
      expect(order.map((i) => jumping.lineAt(file.offsets[i]!))).toEqual(order.map((i) => file.lines[i]));
    });
  });

  test('a line longer than the largest window comes back whole, and so do the lines after it', async () => {
    const file = lines(40, (i) => (i === 20 ? 700_000 : 0));
    await withFile(file.text, (fd) => {
      const back = new ReadBack(fd);
      expect(file.offsets.map((offset) => back.lineAt(offset))).toEqual(file.lines);
    });
  });

  test('a torn last line (no newline yet) is no line, and reads whole once it is written', async () => {
    const file = lines(50);
    await withFile(`${file.text}{"row":50,"user":"us`, (fd, path) => {
      const back = new ReadBack(fd);
      const torn = Buffer.byteLength(file.text);
      for (const offset of file.offsets) back.lineAt(offset);
      expect(back.lineAt(torn)).toBeUndefined();
      appendFileSync(path, 'er50"}\n');
      expect(back.lineAt(torn)).toBe('{"row":50,"user":"user50"}');
    });
  });

  test('a line appended after the window was read is read from the file, not from the stale window', async () => {
    const file = lines(5);
    await withFile(file.text, (fd, path) => {
      const back = new ReadBack(fd);
      expect(back.lineAt(file.offsets[0]!)).toBe(file.lines[0]);
      const end = Buffer.byteLength(file.text);
      appendFileSync(path, '{"late":true}\n');
      expect(back.lineAt(end)).toBe('{"late":true}');
      expect(back.lineAt(file.offsets[4]!)).toBe(file.lines[4]);
    });
  });
});
