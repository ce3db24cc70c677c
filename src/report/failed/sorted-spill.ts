import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

// Rows kept until the end of a run to be written in row order, without holding them all: up to
// `chunk` in memory, then sorted and spilled to a temporary file; at the end the sorted files are
// merged (an external merge sort). Rows finish almost in order, but a bad run can fail 100 000.

export interface Keyed {
  readonly row: number;
  readonly values: readonly string[];
}

export class SortedSpill {
  readonly #chunk: number;
  #buffer: Keyed[] = [];
  #dir: string | undefined;
  readonly #files: string[] = [];
  #count = 0;

  constructor(chunk = 5000) {
    this.#chunk = chunk;
  }

  get count(): number {
    return this.#count;
  }

  async add(entry: Keyed): Promise<void> {
    this.#buffer.push(entry);
    this.#count++;
    if (this.#buffer.length >= this.#chunk) await this.#spill();
  }

  /** Every entry, by row (ties in arrival order). Call once. */
  async *sorted(): AsyncGenerator<Keyed> {
    if (this.#files.length === 0) {
      yield* sortByRow(this.#buffer);
      return;
    }
    await this.#spill();
    const sources = this.#files.map((file) => createInterface({ input: createReadStream(file), crlfDelay: Infinity })[Symbol.asyncIterator]());
    const heads: (Keyed | undefined)[] = await Promise.all(sources.map(next));
    for (;;) {
      // A handful of files: a linear scan for the smallest beats a heap here.
      let best = -1;
      for (let i = 0; i < heads.length; i++) if (heads[i] && (best < 0 || heads[i]!.row < heads[best]!.row)) best = i;
      if (best < 0) return;
      yield heads[best]!;
      heads[best] = await next(sources[best]!);
    }
  }

  /** Removes the temporary files. */
  async dispose(): Promise<void> {
    this.#buffer = [];
    if (this.#dir) await rm(this.#dir, { recursive: true, force: true });
  }

  async #spill(): Promise<void> {
    if (this.#buffer.length === 0) return;
    this.#dir ??= await mkdtemp(join(tmpdir(), 'avatar-import-report-'));
    const file = join(this.#dir, `${this.#files.length}.jsonl`);
    await writeFile(file, sortByRow(this.#buffer).map((entry) => JSON.stringify([entry.row, ...entry.values])).join('\n') + '\n', { mode: 0o600 });
    this.#files.push(file);
    this.#buffer = [];
  }
}

function sortByRow(entries: Keyed[]): Keyed[] {
  // Array.prototype.sort is stable: ties keep arrival order.
  return entries.sort((a, b) => a.row - b.row);
}

async function next(lines: AsyncIterator<string>): Promise<Keyed | undefined> {
  const item = await lines.next();
  if (item.done) return undefined;
  const [row, ...values] = JSON.parse(item.value) as [number, ...string[]];
  return { row, values };
}
