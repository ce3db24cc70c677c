// One pacer per target, shared by every worker (rclone's lib/pacer). All calls to a target go
// through `call`, which is the only place that waits, retries or gives up:
//   - 'retry' (5xx, reset, read timeout): exponential backoff with full jitter, at most `retries`
//     re-sends, then RowError('retries_exhausted') so the row fails as retryable;
//   - 'retry-after' (429): the WHOLE target pauses until the server's time, then the call is
//     re-sent: a rate limit is about the client, not about one request;
//   - 'unknown' (a write that may have landed): re-sent like 'retry' if the caller said it is
//     idempotent, otherwise handed back so the caller can read the remote state first;
//   - 'fatal': every waiting and future call fails with it, in-flight requests are aborted;
//   - 'row' and anything unclassified: handed back untouched.
// Every attempt has a deadline learnt from the server's answers (net/deadline.ts, at most
// --request-timeout): past it a call that is safe to re-send is aborted and re-sent, so a hung
// request holds its slot for a bounded time, not for as long as the server keeps the connection
// open. A write that may not be re-sent gives its slot back at that deadline but runs on to
// --request-timeout; then it counts as 'unknown' and is handed back to be read back.
// Calls in flight follow AIMD: halved on congestion (429/5xx/timeouts), +1 after a window of
// successes, and never below two: with one slot, one slow call would stop every row behind it.
import { setMaxListeners } from 'node:events';
import { AvatarError, RowError } from '../errors.js';
import type { Logger } from '../log.js';
import { realClock, type Clock } from './clock.js';
import { Deadlines } from './deadline.js';

/** How late a --max-rate slot may be taken and still count as on schedule. */
const SCHEDULE_SLACK_MS = 50;

export interface PacerOptions {
  /** Names the target in messages. */
  readonly name: string;
  /** Upper bound for calls in flight (the AIMD window never exceeds it). */
  readonly concurrency: number;
  /** Re-sends after transient failures before a call gives up. */
  readonly retries: number;
  /** Requests per second for the whole target; unlimited when absent. */
  readonly maxRate?: number;
  /** First backoff ceiling; doubled per retry up to `maxBackoffMs`. */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Re-sends after 429s before a call gives up (a server that never lets go). */
  readonly maxRateLimitWaits?: number;
  /** A Retry-After longer than this is shortened to it (then asked again). */
  readonly maxPauseMs?: number;
  /** The longest an attempt may wait for its answer (--request-timeout); within it the deadline
   * follows the latency the server has shown. */
  readonly requestTimeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly clock?: Clock;
  /** In [0, 1): the jitter source. */
  readonly random?: () => number;
  readonly log?: Logger;
}

export interface CallOptions {
  /** Re-sending after an ambiguous failure cannot do harm. Default true. */
  readonly idempotent?: boolean;
  /** Calls of one kind share a latency estimate (an HTTP method, say): a lookup and an upload
   * are not equally fast. */
  readonly kind?: string;
  /** Names the call in a timeout's message. */
  readonly what?: string;
}

export interface PacerStats {
  /** Current AIMD window. */
  readonly limit: number;
  readonly inFlight: number;
  /** Attempts started (first sends and re-sends). */
  readonly attempts: number;
  readonly retries: number;
  readonly rateLimited: number;
  /** Times the window was halved. */
  readonly decreases: number;
  /** Attempts abandoned at their deadline. */
  readonly timeouts: number;
  /** Writes that ran past their learnt deadline and gave their slot back while still running. */
  readonly slowReleased: number;
  readonly maxInFlightSeen: number;
}

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

export class Pacer {
  readonly #options: Required<Omit<PacerOptions, 'maxRate' | 'signal' | 'log' | 'requestTimeoutMs'>> & Pick<PacerOptions, 'maxRate' | 'log'>;
  readonly #deadlines: Deadlines;
  /** The narrowest the AIMD window gets. */
  readonly #minLimit: number;
  readonly #controller = new AbortController();
  readonly #queue: Waiter[] = [];
  #limit: number;
  #inFlight = 0;
  #pausedUntil = -Infinity;
  #nextStart = -Infinity;
  /** Bumped on every decrease: an attempt started before it does not decrease again, so one
   * burst of failures costs one halving, not one per failed call. */
  #generation = 0;
  #streak = 0;
  #stats = { attempts: 0, retries: 0, rateLimited: 0, decreases: 0, timeouts: 0, slowReleased: 0, maxInFlightSeen: 0 };

  constructor(options: PacerOptions) {
    if (!(options.concurrency >= 1)) throw new RangeError(`pacer ${options.name}: concurrency must be >= 1`);
    this.#options = {
      minBackoffMs: 250,
      maxBackoffMs: 30_000,
      maxRateLimitWaits: 20,
      maxPauseMs: 15 * 60_000,
      clock: realClock,
      random: Math.random,
      ...options,
    };
    if (options.requestTimeoutMs !== undefined && !(options.requestTimeoutMs > 0)) throw new RangeError(`pacer ${options.name}: requestTimeoutMs must be > 0`);
    this.#deadlines = new Deadlines(options.requestTimeoutMs);
    // Every attempt in flight listens to it (its own deadline, got): more than Node's default 10.
    setMaxListeners(0, this.#controller.signal);
    this.#limit = options.concurrency;
    this.#minLimit = Math.min(2, options.concurrency);
    const outer = options.signal;
    if (outer) {
      if (outer.aborted) this.#controller.abort(outer.reason);
      else outer.addEventListener('abort', () => this.stop(outer.reason), { once: true });
    }
  }

  /** Aborted when the pacer stops (a fatal error, or the caller's signal): pass it to requests. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get stats(): PacerStats {
    return { ...this.#stats, limit: this.#limit, inFlight: this.#inFlight };
  }

  /** Stop everyone: waiting and future calls fail with `reason`. */
  stop(reason: unknown): void {
    if (this.#controller.signal.aborted) return;
    this.#controller.abort(reason);
    for (const waiter of this.#queue.splice(0)) waiter.reject(reason);
  }

  async call<T>(fn: (signal: AbortSignal) => Promise<T>, options: CallOptions = {}): Promise<T> {
    try {
      return await this.#call(fn, options);
    } catch (error) {
      // Whatever was interrupted by the stop (a sleep, a request) reports why we stopped.
      throw this.signal.aborted ? this.signal.reason : error;
    }
  }

  async #call<T>(fn: (signal: AbortSignal) => Promise<T>, options: CallOptions): Promise<T> {
    const idempotent = options.idempotent ?? true;
    let retries = 0;
    let waits = 0;
    for (;;) {
      const outcome = await this.#attempt(fn, options);
      if (outcome.ok) return outcome.value;
      const { error, generation } = outcome;
      if (!(error instanceof AvatarError)) throw error;

      if (error.kind === 'fatal') throw error;
      if (error.kind === 'retry-after') {
        this.#stats.rateLimited++;
        this.#congested(generation);
        const pause = Math.min(error.retryAfterMs ?? 0, this.#options.maxPauseMs);
        this.#pausedUntil = Math.max(this.#pausedUntil, this.#options.clock.now() + pause);
        // Long pauses are worth telling the operator about: the run looks stalled otherwise.
        this.#options.log?.[pause >= 5_000 ? 'info' : 'debug'](`${this.#options.name}: rate limited by the server, all requests wait ${(pause / 1000).toFixed(1)} s`);
        if (++waits > this.#options.maxRateLimitWaits) {
          throw new RowError('retries_exhausted', `${this.#options.name}: still rate limited after ${waits} waits: ${error.message}`);
        }
        continue;
      }
      if (error.kind === 'retry' || (error.kind === 'unknown' && idempotent)) {
        this.#congested(generation);
        if (++retries > this.#options.retries) {
          throw new RowError('retries_exhausted', `${this.#options.name}: gave up after ${retries} attempts: ${error.message}`);
        }
        this.#stats.retries++;
        await this.#options.clock.sleep(this.#backoff(retries), this.signal);
        continue;
      }
      throw error;
    }
  }

  async #attempt<T>(fn: (signal: AbortSignal) => Promise<T>, options: CallOptions): Promise<{ ok: true; value: T } | { ok: false; error: unknown; generation: number }> {
    await this.#acquire();
    let holding = true;
    const release = (): void => {
      if (!holding) return;
      holding = false;
      this.#release();
    };
    try {
      await this.#awaitTurn();
      const generation = this.#generation;
      this.#stats.attempts++;
      const kind = options.kind ?? '';
      const deadline = this.#deadlines.timeoutFor(kind);
      // Anything safe to send again is abandoned at its learnt deadline. A write that may not be
      // re-sent runs on to --request-timeout: abandoning it early would read the state back
      // before a slow server (Synapse's avatar PUT before 1.150) applied it, and write twice.
      // Past its deadline it stops holding a slot, so it slows only its own row.
      const idempotent = options.idempotent ?? true;
      const timeoutMs = idempotent ? deadline : this.#deadlines.ceilingMs;
      const started = this.#options.clock.now();
      const settled = await this.#withDeadline(fn, timeoutMs, idempotent ? undefined : { afterMs: deadline, release });
      if ('timedOut' in settled) {
        this.#stats.timeouts++;
        this.#deadlines.timedOut(kind);
        const what = options.what ?? this.#options.name;
        return { ok: false, error: new AvatarError('unknown', 'timeout', `${what}: no answer within ${(timeoutMs / 1000).toFixed(1)} s (--request-timeout caps this)`), generation };
      }
      // Any classified outcome is an answer from the server (or the network) after that long.
      if (settled.ok || settled.error instanceof AvatarError) this.#deadlines.observe(kind, this.#options.clock.now() - started);
      if (settled.ok) {
        this.#succeeded();
        return settled;
      }
      // Stop before this slot is released, so no queued call slips through after a fatal.
      if (settled.error instanceof AvatarError && settled.error.kind === 'fatal') this.stop(settled.error);
      return { ok: false, error: settled.error, generation };
    } finally {
      release();
    }
  }

  /**
   * Runs one attempt against its deadline. At the deadline the attempt's signal is aborted (got
   * drops the request) and the slot is given back at once, whether or not `fn` heeds the signal.
   * `slow`: a softer deadline before that, where the call only gives its slot back.
   */
  async #withDeadline<T>(
    fn: (signal: AbortSignal) => Promise<T>,
    timeoutMs: number,
    slow?: { readonly afterMs: number; release(): void },
  ): Promise<{ ok: true; value: T } | { ok: false; error: unknown } | { timedOut: true }> {
    const attempt = new AbortController();
    const timer = new AbortController();
    const onStop = (): void => attempt.abort(this.signal.reason);
    this.signal.addEventListener('abort', onStop, { once: true });
    let timedOut = false;
    try {
      return await new Promise((resolve) => {
        this.#options.clock.deadline(timeoutMs, timer.signal).then(() => {
          timedOut = true;
          resolve({ timedOut: true });
        }, () => undefined);
        if (slow && slow.afterMs < timeoutMs) {
          this.#options.clock.deadline(slow.afterMs, timer.signal).then(() => {
            this.#stats.slowReleased++;
            slow.release();
          }, () => undefined);
        }
        let work: Promise<T>;
        try {
          work = fn(attempt.signal);
        } catch (error) {
          work = Promise.reject(error);
        }
        work.then((value) => resolve({ ok: true, value }), (error: unknown) => resolve({ ok: false, error }));
      });
    } finally {
      timer.abort();
      this.signal.removeEventListener('abort', onStop);
      // Whatever the attempt still does (a request the server never answers) is dropped.
      if (timedOut) attempt.abort(new Error('request deadline passed'));
    }
  }

  /** A slot in the AIMD window. */
  #acquire(): Promise<void> {
    this.signal.throwIfAborted();
    if (this.#inFlight < this.#limit) {
      this.#take();
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.#queue.push({ resolve, reject }));
  }

  #take(): void {
    this.#inFlight++;
    this.#stats.maxInFlightSeen = Math.max(this.#stats.maxInFlightSeen, this.#inFlight);
  }

  #release(): void {
    this.#inFlight--;
    this.#drain();
  }

  #drain(): void {
    while (this.#queue.length > 0 && this.#inFlight < this.#limit) {
      this.#take();
      this.#queue.shift()!.resolve();
    }
  }

  /** Wait out a target-wide pause and the --max-rate spacing. Both can move while we sleep
   * (another worker hit a 429, another worker took the next rate slot), hence the loop. */
  async #awaitTurn(): Promise<void> {
    const { clock, maxRate } = this.#options;
    for (;;) {
      const now = clock.now();
      const at = Math.max(this.#pausedUntil, this.#nextStart);
      if (at <= now) {
        // Slots follow a schedule rather than "now + interval", so that timers firing late on a
        // busy machine do not lower the rate (the missed slots are caught up); after an idle
        // spell longer than SCHEDULE_SLACK_MS the schedule restarts instead of bursting.
        if (maxRate) {
          const interval = 1000 / maxRate;
          const onSchedule = now - this.#nextStart < Math.max(interval, SCHEDULE_SLACK_MS);
          this.#nextStart = (onSchedule ? this.#nextStart : now) + interval;
        }
        return;
      }
      await clock.sleep(at - now, this.signal);
    }
  }

  #congested(generation: number): void {
    this.#streak = 0;
    if (generation !== this.#generation) return;
    this.#generation++;
    if (this.#limit > this.#minLimit) {
      this.#limit = Math.max(this.#minLimit, Math.floor(this.#limit / 2));
      this.#stats.decreases++;
      this.#options.log?.debug(`${this.#options.name}: congestion, ${this.#limit} calls in flight at most`);
    }
  }

  #succeeded(): void {
    if (this.#limit >= this.#options.concurrency) return;
    if (++this.#streak < this.#limit) return;
    this.#streak = 0;
    this.#limit++;
    this.#drain();
  }

  /** Full jitter (AWS architecture blog): uniform in [0, ceiling), the ceiling doubling per retry. */
  #backoff(retry: number): number {
    const { minBackoffMs, maxBackoffMs, random } = this.#options;
    return Math.floor(random() * Math.min(maxBackoffMs, minBackoffMs * 2 ** (retry - 1)));
  }
}
