import type { StatsAhead } from '../util/stats-ahead.js';

// The rows a run is about to decide, read a little ahead so that the files they will stat are
// stat-ed meanwhile in another thread (util/stats-ahead.ts). Rows come out exactly as they went
// in, in order, and every row read is given out, even when the input then fails (it fails after
// them, as it would have).
// Reading ahead stays within the run's window: rows read and not finished are never more than
// the window allows (`room`), so memory still does not depend on the input's length, and rows
// that wait on a slow target hold the input back as before.

/** Rows read ahead at most (when the window has room for them). */
const MAX_AHEAD = 64;
/** Below this many rows read ahead, more are read: rows enough for the other thread to answer
 * the next batch meanwhile, in batches big enough that waking it (a message each) stays rare. */
const LOW = MAX_AHEAD / 4;

export interface AheadFile {
  readonly path: string;
  /** statSync (follow links) rather than lstatSync. */
  readonly follow: boolean;
}

export class ReadAhead<R> {
  readonly #records: AsyncIterator<R>;
  readonly #filesOf: (record: R, into: AheadFile[]) => void;
  readonly #ahead: StatsAhead | undefined;
  readonly #room: () => number;
  /** Rows read and not yet given out, from #next on. */
  #queue: R[] = [];
  #next = 0;
  #done = false;
  /** Rows read so far. */
  #read = 0;
  #failure: { readonly error: unknown } | undefined;

  /**
   * `filesOf` adds to `into` the files a record's row will stat; `room` is how many more rows the
   * window takes now (read ahead counts against it). Without `ahead`, rows are only read.
   */
  constructor(records: AsyncIterable<R>, filesOf: (record: R, into: AheadFile[]) => void, ahead: StatsAhead | undefined, room: () => number) {
    this.#records = records[Symbol.asyncIterator]();
    this.#filesOf = filesOf;
    this.#ahead = ahead;
    this.#room = room;
  }

  /** The next row, or undefined once the input has ended; throws what reading it threw, after
   * every row read before that. */
  async next(): Promise<R | undefined> {
    if (this.#queue.length - this.#next < LOW && !this.#done) await this.#fill();
    if (this.#next < this.#queue.length) return this.#queue[this.#next++];
    if (this.#failure) throw this.#failure.error;
    return undefined;
  }

  /** Stops reading: the input is closed. */
  async close(): Promise<void> {
    this.#done = true;
    await this.#records.return?.();
  }

  /** Reads while the window has room (one row at least when none is left), and asks for their files. */
  async #fill(): Promise<void> {
    if (this.#next > 0) {
      this.#queue = this.#queue.slice(this.#next);
      this.#next = 0;
    }
    const files: AheadFile[] = [];
    try {
      while (!this.#done && (this.#queue.length === 0 || this.#queue.length < Math.min(MAX_AHEAD, this.#room()))) {
        const item = await this.#records.next();
        if (item.done) {
          this.#done = true;
          break;
        }
        this.#queue.push(item.value);
        this.#read++;
        if (this.#ahead) this.#filesOf(item.value, files);
      }
    } catch (error) {
      this.#done = true;
      this.#failure = { error };
    }
    // A short input is over before another thread would pay for its start: none for the first
    // rows (a run of a few dozen rows never starts one).
    if (files.length > 0 && this.#read > MAX_AHEAD) this.#ahead?.ask(files);
  }
}
