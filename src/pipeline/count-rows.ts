import { createReadStream } from 'node:fs';

/** Rows in a CSV file for progress and ETA: newlines minus the header, counted in a streaming
 * pass beside the real one (quoted fields with newlines make it an estimate, never a bound). */
export async function countRows(path: string): Promise<number> {
  let lines = 0;
  let last = 0x0a;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) lines++;
    last = chunk[chunk.length - 1] ?? last;
  }
  if (last !== 0x0a) lines++;
  return Math.max(lines - 1, 0);
}
