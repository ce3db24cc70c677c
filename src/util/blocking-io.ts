import { performance } from 'node:perf_hooks';

/**
 * Whether a run's file operations may still block the main thread. Synchronous file system calls
 * cost a few µs of CPU where each thread-pool round trip of an asynchronous one costs ~25 µs, which
 * over a photo's read and its avatar's write is ~1 % of sharp's own work on a 2 MP photo. That
 * holds while blocking costs the run nothing: local, cached files (~0.1–1 ms an operation, a few %
 * of the main thread's time). Once blocking takes more than `maxShare` of the main thread's time
 * over a window (network storage, a cold disk, or simply more photos a second than a file system
 * round trip allows), it is off for the rest of the run: operations wait in the thread pool,
 * several at once, while the main thread goes on with the rows. A share over a window, not the
 * time of one operation: on a busy machine any operation may be preempted for a few ms.
 */
export class BlockingIo {
  readonly #maxShare: number;
  readonly #windowMs: number;
  #windowStart = performance.now();
  #blocked = 0;
  #allowed = true;

  constructor(maxShare = 0.25, windowMs = 1000) {
    this.#maxShare = maxShare;
    this.#windowMs = windowMs;
  }

  /** Still cheap enough to block for. */
  get allowed(): boolean {
    return this.#allowed;
  }

  /** Runs `operation` (synchronous file system calls), timing it. */
  run<T>(operation: () => T): T {
    const started = performance.now();
    try {
      return operation();
    } finally {
      const ended = performance.now();
      this.#blocked += ended - started;
      const elapsed = ended - this.#windowStart;
      if (elapsed >= this.#windowMs) {
        if (this.#blocked > this.#maxShare * elapsed) this.#allowed = false;
        this.#windowStart = ended;
        this.#blocked = 0;
      }
    }
  }
}
