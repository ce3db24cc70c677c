// Gathers the lookups of rows that are in flight at the same time into batches (lookup-batch.ts),
// so that a nightly run of unchanged users costs one request per `size` users instead of one per
// user. A batch goes when it is full, or when no batch is in flight and lookups have stopped
// arriving for `idleMs`: a small run is not held up. After an answer, the rows it let through
// finish and the pipeline admits as many new ones, which takes longer than the gap between
// arrivals (more so on a busy machine): until that many have arrived the wait is `refillMs`, so
// the next batch is full rather than the few left over.
//
// Row by row the outcome is what a single lookup gives; only the cost differs. When the server
// refuses a batched document, the rest of the run looks users up one by one (said once).
import { AvatarError, RowError } from '../../errors.js';
import type { BatchAnswer } from './lookup-batch.js';
import type { AuthgearUser } from './user.js';

export interface BatcherOptions {
  /** Lookups per request; 1 sends each lookup alone, as before batching. */
  readonly size: number;
  /** A pause in arrivals this long means no more company is coming. */
  readonly idleMs: number;
  /** How long the lookups left over wait after an answer for the rows it lets through. */
  readonly refillMs: number;
  /** Body budget of one batch (the Admin API takes at most 1 MiB). */
  readonly maxBodyBytes: number;
  /** What the body holds without values, and what each value adds to it. */
  readonly bodyBytes: { readonly base: number; item(value: string): number };
  readonly single: (value: string) => Promise<AuthgearUser[]>;
  readonly batch: (values: readonly string[]) => Promise<BatchAnswer>;
  /** The server refused a batched document: called once, before the fallback. */
  readonly onRefused: (why: string) => void;
  /** Names the lookup of a row in messages. */
  readonly what: (value: string) => string;
}

interface Waiting {
  readonly value: string;
  readonly bytes: number;
  resolve(users: AuthgearUser[]): void;
  reject(error: unknown): void;
}

export class LookupBatcher {
  #waiting: Waiting[] = [];
  #timer: NodeJS.Timeout | undefined;
  #inFlight = 0;
  /** Rows answered whose successors have not arrived yet. */
  #expected = 0;
  #refused = false;
  #closed: Error | undefined;

  constructor(private readonly options: BatcherOptions) {}

  /** Whether lookups still go out in batches (false after the server refused one). */
  get batching(): boolean {
    return this.options.size > 1 && !this.#refused;
  }

  find(value: string): Promise<AuthgearUser[]> {
    if (this.#closed) return Promise.reject(this.#closed);
    if (!this.batching) return this.options.single(value);
    return new Promise((resolve, reject) => {
      this.#waiting.push({ value, bytes: this.options.bodyBytes.item(value), resolve, reject });
      this.#expected = Math.max(0, this.#expected - 1);
      if (this.#waiting.length >= this.options.size) this.#flush();
      else this.#arm();
    });
  }

  /** Lookups still waiting fail with `reason` (the target is closing). */
  close(reason: Error): void {
    this.#closed = reason;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const w of this.#waiting.splice(0)) w.reject(reason);
  }

  /** (Re)starts the wait for company: each arrival and each answer pushes it back. */
  #arm(): void {
    const ms = this.#expected > 0 ? this.options.refillMs : this.options.idleMs;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#waiting.length === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      // A batch in flight lets rows through when it is answered; they fill this one meanwhile.
      if (this.#inFlight === 0) this.#flush();
    }, ms);
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    // As many as fit the size and the body budget; a value alone always goes.
    let bytes = this.options.bodyBytes.base;
    let count = 0;
    for (const w of this.#waiting) {
      if (count === this.options.size || (count > 0 && bytes + w.bytes > this.options.maxBodyBytes)) break;
      bytes += w.bytes;
      count++;
    }
    const batch = this.#waiting.splice(0, count);
    if (batch.length === 0) return;
    this.#inFlight++;
    void this.#send(batch).finally(() => {
      this.#inFlight--;
      this.#expected += batch.length;
      if (this.#waiting.length >= this.options.size) this.#flush();
      else this.#arm();
    });
  }

  async #send(batch: Waiting[]): Promise<void> {
    if (batch.length === 1 || !this.batching) return this.#alone(batch);
    let answer: BatchAnswer;
    try {
      answer = await this.options.batch(batch.map((w) => w.value));
    } catch (error) {
      for (const w of batch) w.reject(forRow(error, this.options.what(w.value), batch.length));
      return;
    }
    if ('refused' in answer) {
      if (!this.#refused) {
        this.#refused = true;
        this.options.onRefused(answer.refused);
      }
      // Everyone waiting goes alone now, this batch first.
      const rest = this.#waiting.splice(0);
      return this.#alone([...batch, ...rest]);
    }
    const again: Waiting[] = [];
    answer.outcomes.forEach((outcome, i) => {
      const w = batch[i]!;
      if ('users' in outcome) w.resolve(outcome.users);
      else if ('error' in outcome) w.reject(outcome.error);
      else again.push(w);
    });
    if (again.length === batch.length) {
      // Nothing named, nothing answered: no progress to be had from sending it again.
      for (const w of again) w.reject(new RowError('target_error', `${this.options.what(w.value)}: the batched answer had neither data nor an error for it`));
      return;
    }
    // The others in the batch were not looked at: they have waited already, so they go first.
    if (again.length > 0) {
      this.#waiting.unshift(...again);
      this.#flush();
    }
  }

  async #alone(batch: Waiting[]): Promise<void> {
    await Promise.all(batch.map((w) => this.options.single(w.value).then(w.resolve, w.reject)));
  }
}

/**
 * A failure of the whole request, as one row's error: the same kind and code (a fatal error is
 * the run's and stays the same object), the message naming this row's lookup.
 */
function forRow(error: unknown, what: string, size: number): unknown {
  if (!(error instanceof AvatarError) || error.kind === 'fatal') return error;
  const copy = new AvatarError(error.kind, error.code, `${what} (in a batch of ${size}): ${error.message}`, {
    cause: error,
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
  });
  copy.name = error.name;
  return copy;
}
