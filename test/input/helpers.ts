// Small sources for the input tests: text fed in chunks of a chosen size, as a file or stdin would.

import { Readable } from 'node:stream';
import type { CsvProblem, CsvRecord } from '../../src/input/csv.js';
import type { TableInput } from '../../src/input/table.js';

/** A byte stream of `text`, cut into `chunkSize`-byte chunks (1 mimics the worst stdin can do). */
export function textSource(text: string | Buffer, chunkSize = 64 * 1024): Readable {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += chunkSize) chunks.push(bytes.subarray(at, at + chunkSize));
  return Readable.from(chunks, { objectMode: false });
}

export async function collect(input: TableInput): Promise<Array<CsvRecord | CsvProblem>> {
  const all: Array<CsvRecord | CsvProblem> = [];
  for await (const item of input.records) all.push(item);
  return all;
}

export function isProblem(item: CsvRecord | CsvProblem): item is CsvProblem {
  return 'error' in item;
}
