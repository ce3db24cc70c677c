import { constants } from 'node:fs';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';

// A nightly run of unchanged rows is mostly two stats a row (the photo, and dir's avatar file):
// each a system call on the main thread, a third of the run's time. The rows to come are known
// ahead (the pipeline reads a few hundred ahead of what it decides), so another thread stats
// their files meanwhile, on the machine's other core, and the row takes the answer instead of
// asking the file system itself.
//
// Only ever a shortcut: an answer not there yet, gone stale (older than MAX_AGE_MS) or not a
// plain answer (an error other than "no such file") is simply not given, and the caller stats the
// file itself, as it always did. Nothing ever waits on the thread: its answers are taken with
// receiveMessageOnPort, synchronously, when a row asks.

/** What a caller of lstatSync/statSync reads of the answer. */
export interface FileStat {
  readonly size: number;
  readonly mtimeMs: number;
  readonly dev: number;
  readonly ino: number;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
}

/** A stat taken longer ago than this is not given: the caller takes a fresh one. */
const MAX_AGE_MS = 1000;
/** Batches whose answers are kept. */
const MAX_BATCHES = 4;
/** Per path in the answer: kind (0: no such file, 1: error, 2: found), mode, size, mtimeMs, dev, ino. */
const FIELDS = 6;

// Runs in the thread, as plain CommonJS (eval: no build step, and nothing of ours to load).
const WORKER = `
const { statSync, lstatSync } = require('node:fs');
const { workerData } = require('node:worker_threads');
const port = workerData.port;
port.on('message', ({ id, files }) => {
  const paths = files.split('\\0');
  const out = new Float64Array(paths.length * ${FIELDS});
  for (let i = 0; i < paths.length; i++) {
    // "S" + path: statSync; "L" + path: lstatSync.
    const file = paths[i];
    let s;
    try {
      s = (file[0] === 'S' ? statSync : lstatSync)(file.slice(1), { throwIfNoEntry: false });
    } catch {
      out[i * ${FIELDS}] = 1;
      continue;
    }
    if (s === undefined) continue;
    const at = i * ${FIELDS};
    out[at] = 2; out[at + 1] = s.mode; out[at + 2] = s.size; out[at + 3] = s.mtimeMs; out[at + 4] = s.dev; out[at + 5] = s.ino;
  }
  port.postMessage({ id, out }, [out.buffer]);
});
`;

class Stat implements FileStat {
  constructor(
    private readonly mode: number,
    readonly size: number,
    readonly mtimeMs: number,
    readonly dev: number,
    readonly ino: number,
  ) {}
  isFile(): boolean {
    return (this.mode & constants.S_IFMT) === constants.S_IFREG;
  }
  isDirectory(): boolean {
    return (this.mode & constants.S_IFMT) === constants.S_IFDIR;
  }
  isSymbolicLink(): boolean {
    return (this.mode & constants.S_IFMT) === constants.S_IFLNK;
  }
  isFIFO(): boolean {
    return (this.mode & constants.S_IFMT) === constants.S_IFIFO;
  }
  isSocket(): boolean {
    return (this.mode & constants.S_IFMT) === constants.S_IFSOCK;
  }
}

interface Batch {
  readonly id: number;
  readonly asked: number;
  /** Path → its place in the answer, per kind of call. */
  readonly lstats: Map<string, number>;
  readonly stats: Map<string, number>;
  answer?: Float64Array;
}

/** Missing: the caller stats the file itself. Null: there is no such file. */
export type Prefetched = FileStat | null | undefined;

export class StatsAhead {
  #worker: Worker | undefined;
  #port: MessagePort | undefined;
  #failed = false;
  #nextId = 0;
  /** Oldest first; the last MAX_BATCHES. */
  readonly #batches: Batch[] = [];

  /** Stats these files in the other thread: `follow` as statSync, else as lstatSync. */
  ask(files: readonly { readonly path: string; readonly follow: boolean }[]): number | undefined {
    if (files.length === 0 || !this.#start()) return undefined;
    const batch: Batch = { id: this.#nextId++, asked: performance.now(), lstats: new Map(), stats: new Map() };
    // One string for the batch: a message of one string costs a copy, one of 500 strings ~0.7 ms.
    // Paths never hold a NUL.
    let text = '';
    let count = 0;
    for (const file of files) {
      const map = file.follow ? batch.stats : batch.lstats;
      if (map.has(file.path)) continue;
      map.set(file.path, count);
      text += `${count++ === 0 ? '' : '\0'}${file.follow ? 'S' : 'L'}${file.path}`;
    }
    this.#batches.push(batch);
    // The rows of older batches are decided by now (rows are read at most a few batches ahead).
    if (this.#batches.length > MAX_BATCHES) this.#batches.shift();
    this.#port!.postMessage({ id: batch.id, files: text });
    return batch.id;
  }

  /** The answer for `path` if one is here and fresh; see Prefetched. */
  take(path: string, follow: boolean): Prefetched {
    for (const batch of this.#batches) {
      const map = follow ? batch.stats : batch.lstats;
      const index = map.get(path);
      if (index === undefined) continue;
      if (batch.answer === undefined) this.#receive(batch.id);
      const answer = batch.answer;
      if (answer === undefined || performance.now() - batch.asked > MAX_AGE_MS) return undefined;
      const at = index * FIELDS;
      const kind = answer[at];
      if (kind === 0) return null;
      if (kind !== 2) return undefined;
      return new Stat(answer[at + 1]!, answer[at + 2]!, answer[at + 3]!, answer[at + 4]!, answer[at + 5]!);
    }
    return undefined;
  }

  /** Stops the thread (the pipeline's run is over). */
  async close(): Promise<void> {
    this.#batches.length = 0;
    const worker = this.#worker;
    this.#worker = undefined;
    this.#port?.close();
    this.#port = undefined;
    await worker?.terminate();
  }

  #start(): boolean {
    if (this.#failed) return false;
    if (this.#worker !== undefined) return true;
    try {
      const { port1, port2 } = new MessageChannel();
      // A small heap: what the thread allocates (a Stats object a file) dies at once, and default
      // sizes let it grow with the run (~10 MB more RSS at a million rows than at 100 000). Should
      // it ever run out, it stops ('error' below) and rows stat their files themselves.
      this.#worker = new Worker(WORKER, { eval: true, workerData: { port: port2 }, transferList: [port2], resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 } });
      this.#port = port1;
      port1.unref();
    } catch {
      this.#failed = true;
      return false;
    }
    // Never keeps the process alive, and a thread that fails only means rows stat for themselves.
    this.#worker.unref();
    this.#worker.on('error', () => {
      this.#failed = true;
      this.#batches.length = 0;
    });
    return true;
  }

  /** Takes the thread's answers that are in, without waiting, until batch `id`'s. */
  #receive(id: number): void {
    const port = this.#port;
    if (port === undefined) return;
    for (;;) {
      const message = receiveMessageOnPort(port) as { message: { id: number; out: Float64Array } } | undefined;
      if (message === undefined) return;
      const { id: answered, out } = message.message;
      const batch = this.#batches.find((b) => b.id === answered);
      if (batch) batch.answer = out;
      if (answered >= id) return;
    }
  }
}

// The run that reads ahead, for the two places that stat a row's files (input/source.ts and the
// dir target), which know nothing of runs. One at a time: a second run in the same process (tests)
// reads nothing ahead, and its files are stat-ed as always.
let current: StatsAhead | undefined;

/** Makes `ahead` the one `prefetched` asks, unless another is; false if another is. */
export function useStatsAhead(ahead: StatsAhead): boolean {
  if (current !== undefined) return false;
  current = ahead;
  return true;
}

export function stopUsingStatsAhead(ahead: StatsAhead): void {
  if (current === ahead) current = undefined;
}

/** The other thread's stat of `path`, if it has a fresh one; see Prefetched. */
export function prefetched(path: string, follow: boolean): Prefetched {
  return current?.take(path, follow);
}
