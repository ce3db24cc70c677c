// The CSV is a stream, not a file in memory: these tests feed a 1 000 000-row CSV generated on
// demand and watch how much of it has been read while records are taken. Nothing here depends on
// timing: an implementation that buffered the file, or read ahead without bound, fails the byte
// counts however fast or slow the machine is.

import { Readable } from 'node:stream';
import { openCsv } from '../../src/input/csv.js';

const ROWS = 1_000_000;
const HEADER = 'user_id,photo\n';
const line = (i: number): string => `user${i},photos/user${i}.jpg\n`;

/** A 1 000 000-row CSV made only as it is read, counting the rows handed out. */
function generatedCsv(): { source: Readable; rowsMade: () => number; totalBytes: number } {
  let made = 0;
  let totalBytes = HEADER.length;
  for (let i = 0; i < ROWS; i++) totalBytes += line(i).length;
  const source = new Readable({
    read() {
      if (made >= ROWS) {
        this.push(null);
        return;
      }
      let chunk = made === 0 ? HEADER : '';
      for (const end = Math.min(made + 500, ROWS); made < end; made++) chunk += line(made);
      this.push(chunk);
    },
  });
  return { source, rowsMade: () => made, totalBytes };
}

/** Read-ahead allowed beyond the record just taken: a few stream buffers, nowhere near the file. */
const WINDOW = 512 * 1024;

test('the first record arrives after reading a sliver of a 1 000 000-row CSV', async () => {
  const csv = generatedCsv();
  const input = await openCsv(csv.source);
  const iterator = input.records[Symbol.asyncIterator]();
  const first = await iterator.next();

  expect(first.value).toEqual({ row: 1, line: 2, fields: { user_id: 'user0', photo: 'photos/user0.jpg' } });
  expect(input.bytesRead()).toBeLessThan(WINDOW);
  expect(input.bytesRead()).toBeLessThan(csv.totalBytes / 50);
  expect(csv.rowsMade()).toBeLessThan(ROWS / 50);
  await iterator.return?.();
});

test('reading stays within a fixed window of the records taken, and stops when the consumer does', async () => {
  const csv = generatedCsv();
  const closed = new Promise((resolve) => csv.source.once('close', resolve));
  const input = await openCsv(csv.source);
  let consumed = HEADER.length;
  let widest = 0;
  let wrong: unknown;
  for await (const record of input.records) {
    const i = record.row - 1;
    // Checked by hand: 100 000 expect() calls would make this test about jest, not about reading.
    if ('error' in record || record.fields.user_id !== `user${i}` || record.line !== record.row + 1) wrong ??= record;
    consumed += line(i).length;
    widest = Math.max(widest, input.bytesRead() - consumed);
    if (record.row === 50_000) break;
  }
  await closed;

  expect(wrong).toBeUndefined();
  // The window held: at no point was more than WINDOW read beyond the record in hand ...
  expect(widest).toBeLessThanOrEqual(WINDOW);
  // ... and leaving the loop stopped the reading: most of the file was never made at all.
  expect(csv.rowsMade()).toBeLessThan(50_000 + WINDOW / line(0).length + 500);
  expect(input.bytesRead()).toBeLessThan(csv.totalBytes / 5);
});
