// Time as the pacer sees it. Injected so that tests drive backoff, pauses and rate spacing with a
// fake clock instead of real sleeps.
import { setTimeout as delay } from 'node:timers/promises';

export interface Clock {
  /** Milliseconds since an arbitrary origin; only differences matter. */
  now(): number;
  /** Resolve after `ms`; reject with the signal's reason if it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** The same timer, for a deadline rather than a wait: nobody sits in it, it only fires if
   * what it guards has not finished first (aborting `signal` cancels it). */
  deadline(ms: number, signal: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => performance.now(),
  sleep: async (ms, signal) => {
    if (ms > 0) await delay(ms, undefined, signal ? { signal } : undefined);
    else signal?.throwIfAborted();
  },
  deadline: (ms, signal) => realClock.sleep(ms, signal),
};
