// Fake time for the pacer: sleeps are timers on a virtual clock that only moves when a test says
// so, so backoff, pauses and rate spacing are asserted without waiting for real time.
import type { Clock } from '../../src/net/clock.js';

interface Timer {
  readonly at: number;
  readonly resolve: () => void;
  /** A deadline guards work that is still running; nothing waits on it. */
  readonly deadline: boolean;
}

export class FakeClock implements Clock {
  #now = 0;
  #timers: Timer[] = [];
  /** Every sleep asked for, in order: what the pacer decided to wait. */
  readonly sleeps: number[] = [];
  /** Every deadline armed, in order (not waits: they fire only for what is still running). */
  readonly deadlines: number[] = [];
  /** Timers fire this much later than asked, as real ones do under load. */
  lateBy = 0;

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    return this.#timer(ms, signal, false);
  }

  deadline(ms: number, signal: AbortSignal): Promise<void> {
    this.deadlines.push(ms);
    return this.#timer(ms, signal, true);
  }

  #timer(ms: number, signal: AbortSignal | undefined, deadline: boolean): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const timer: Timer = { at: this.#now + Math.max(0, ms) + this.lateBy, resolve, deadline };
      this.#timers.push(timer);
      signal?.addEventListener('abort', () => {
        this.#timers = this.#timers.filter((t) => t !== timer);
        reject(signal.reason);
      }, { once: true });
    });
  }

  /** Sleeps still waiting: when there are none, what is in flight waits on something else (I/O). */
  get pendingTimers(): number {
    return this.#timers.filter((t) => !t.deadline).length;
  }

  /** Let every promise that can make progress without time passing do so. */
  async settle(): Promise<void> {
    for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** Move time forward by `ms`, firing due timers in order and settling after each. */
  async advance(ms: number): Promise<void> {
    const until = this.#now + ms;
    await this.settle();
    for (;;) {
      const next = this.#earliest();
      if (!next || next.at > until) break;
      this.#fire(next);
      await this.settle();
    }
    this.#now = until;
    await this.settle();
  }

  /** Run virtual time until `promise` settles; fails instead of hanging if nothing is left to fire. */
  async run<T>(promise: Promise<T>): Promise<T> {
    let done = false;
    const watched = promise.finally(() => { done = true; });
    watched.catch(() => undefined);
    await this.settle();
    while (!done) {
      const next = this.#earliest();
      if (!next) throw new Error('FakeClock.run: the promise is waiting on something other than time');
      this.#fire(next);
      await this.settle();
    }
    return watched;
  }

  #earliest(): Timer | undefined {
    return this.#timers.reduce<Timer | undefined>((a, t) => (a === undefined || t.at < a.at ? t : a), undefined);
  }

  #fire(timer: Timer): void {
    this.#timers = this.#timers.filter((t) => t !== timer);
    this.#now = Math.max(this.#now, timer.at);
    timer.resolve();
  }
}
