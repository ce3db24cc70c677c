import { performance } from 'node:perf_hooks';

/**
 * Whether a run's file operations may still block the main thread. Synchronous file system calls
 * cost a few µs of CPU where each thread-pool round trip of an asynchronous one costs ~25 µs, which
 * over a photo's read and its avatar's write is ~1 % of sharp's own work on a 2 MP photo. That
 * holds while the files are local and cached (~0.1 ms an operation). Once most recent operations
 * are slow (network storage, a cold disk), blocking is off for the rest of the run, so that slow
 * operations wait in the thread pool, several at once, while the main thread goes on. Most, not
 * one: on a busy machine any operation may be preempted for a few ms now and then.
 */
export class BlockingIo {
  readonly #slowMs: number;
  /** The last WINDOW operations, true where slow; a ring. */
  readonly #recent: boolean[] = [];
  #next = 0;
  #slow = 0;
  #allowed = true;

  /** @param slowMs an operation taking longer than this is slow */
  constructor(slowMs = 1) {
    this.#slowMs = slowMs;
  }

  /** Still quick enough to block for. */
  get allowed(): boolean {
    return this.#allowed;
  }

  /** Runs `operation` (synchronous file system calls), timing it. */
  run<T>(operation: () => T): T {
    const started = performance.now();
    try {
      return operation();
    } finally {
      this.#record(performance.now() - started > this.#slowMs);
    }
  }

  #record(slow: boolean): void {
    if (this.#recent.length < WINDOW) this.#recent.push(slow);
    else {
      if (this.#recent[this.#next]) this.#slow--;
      this.#recent[this.#next] = slow;
      this.#next = (this.#next + 1) % WINDOW;
    }
    if (slow) this.#slow++;
    if (this.#slow > WINDOW / 2) this.#allowed = false;
  }
}

/** Operations looked back on. */
const WINDOW = 16;
