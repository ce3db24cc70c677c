import { formatDuration } from './format.js';
import type { Tally } from './tally.js';

// On a terminal: one live line, redrawn a few times a second. Anywhere else (cron, CI, a pipe to a
// log file): a plain line every 10 s, so logs stay readable and still show the run is alive.

export interface ProgressOptions {
  readonly stream: NodeJS.WriteStream;
  readonly tally: Tally;
  /** Rows expected in all, when known (counted from the file in the background). */
  readonly total: () => number | undefined;
  /** Force the mode; default: live when the stream is a TTY. */
  readonly live?: boolean;
  readonly plainEveryMs?: number;
}

export class Progress {
  readonly #options: ProgressOptions;
  readonly #live: boolean;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: ProgressOptions) {
    this.#options = options;
    this.#live = options.live ?? options.stream.isTTY === true;
  }

  start(): void {
    const every = this.#live ? 250 : (this.#options.plainEveryMs ?? 10_000);
    this.#timer = setInterval(() => this.#draw(), every);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#live) this.#options.stream.write('\r\x1b[K');
  }

  /** The line as it would be shown now. */
  line(now = Date.now()): string {
    const { tally } = this.#options;
    const total = this.#options.total();
    const seconds = Math.max((now - tally.started) / 1000, 0.001);
    const rate = tally.done / seconds;
    const parts = [total ? `${tally.done}/${total}` : `${tally.done}`, `${rate.toFixed(1)} rows/s`];
    if (total && rate > 0 && total > tally.done) parts.push(`ETA ${formatDuration((total - tally.done) / rate)}`);
    parts.push(`ok ${tally.ok}`, `skipped ${tally.skipped}`, `failed ${tally.failed}`);
    return parts.join('  ');
  }

  #draw(): void {
    const text = this.line();
    this.#options.stream.write(this.#live ? `\r\x1b[K${text}` : `progress: ${text}\n`);
  }
}
