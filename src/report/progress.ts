import { formatDuration } from './format.js';
import type { Tally } from './tally.js';

// On a terminal: one live line, redrawn a few times a second. Anywhere else (cron, CI, a pipe to a
// log file): a plain line every --progress-interval seconds (10 by default), so logs stay readable
// and still show the run is alive. Rates are current (the last RATE_WINDOW_MS), not averages since
// the start, so a run that slows down shows it.

/** Rates are measured over about this much of the recent past. */
export const RATE_WINDOW_MS = 10_000;

export interface ProgressSnapshot {
  readonly done: number;
  readonly total: number | undefined;
  readonly rowsPerSecond: number;
  /** Source bytes read per second, in MB (10^6 bytes). */
  readonly mbPerSecond: number;
  readonly etaSeconds: number | undefined;
  readonly ok: number;
  readonly skipped: number;
  readonly failed: number;
  /** Failures by code so far, commonest first. */
  readonly codes: Readonly<Record<string, number>>;
}

interface Sample {
  readonly t: number;
  readonly done: number;
  readonly bytes: number;
}

export interface ProgressOptions {
  readonly stream: NodeJS.WriteStream;
  readonly tally: Tally;
  /** Rows expected in all, when known (counted from the file in the background). */
  readonly total: () => number | undefined;
  /** Force the mode; default: live when the stream is a TTY. */
  readonly live?: boolean;
  readonly plainEveryMs?: number;
  /** Source bytes read so far (for MB/s). */
  readonly bytesRead?: () => number;
}

export class Progress {
  readonly #options: ProgressOptions;
  readonly #live: boolean;
  #timer: NodeJS.Timeout | undefined;
  #samples: Sample[] = [];

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

  /** Where the run stands now; each call is also a sample for the rates. */
  snapshot(now = Date.now()): ProgressSnapshot {
    const { tally } = this.#options;
    const total = this.#options.total();
    const sample = { t: now, done: tally.done, bytes: this.#options.bytesRead?.() ?? 0 };
    this.#samples.push(sample);
    // Keep one sample at least RATE_WINDOW_MS old (the base), drop the ones before it.
    while (this.#samples.length > 2 && now - this.#samples[1]!.t >= RATE_WINDOW_MS) this.#samples.shift();
    const base = this.#samples.length > 1 ? this.#samples[0]! : { t: tally.started, done: 0, bytes: 0 };
    const seconds = Math.max((now - base.t) / 1000, 0.001);
    const rowsPerSecond = (sample.done - base.done) / seconds;
    const codes = Object.fromEntries(tally.topCodes(Infinity).map(({ code, count }) => [code, count]));
    return {
      done: tally.done, total, rowsPerSecond, mbPerSecond: (sample.bytes - base.bytes) / seconds / 1e6,
      etaSeconds: total && rowsPerSecond > 0 && total > tally.done ? (total - tally.done) / rowsPerSecond : undefined,
      ok: tally.ok, skipped: tally.skipped, failed: tally.failed, codes,
    };
  }

  /** The line as it would be shown now. */
  line(now = Date.now()): string {
    const snap = this.snapshot(now);
    const parts = [snap.total ? `${snap.done}/${snap.total}` : `${snap.done}`, `${snap.rowsPerSecond.toFixed(1)} rows/s`];
    if (this.#options.bytesRead) parts.push(`${snap.mbPerSecond.toFixed(1)} MB/s`);
    if (snap.etaSeconds !== undefined) parts.push(`ETA ${formatDuration(snap.etaSeconds)}`);
    parts.push(`ok ${snap.ok}`, `skipped ${snap.skipped}`, `failed ${snap.failed}${codeList(snap.codes)}`);
    return parts.join('  ');
  }

  #draw(): void {
    const text = this.line();
    this.#options.stream.write(this.#live ? `\r\x1b[K${text}` : `progress: ${text}\n`);
  }
}

/** " (file_not_found 12, unsupported_image 3, +2 more)": the codes seen so far, commonest first. */
function codeList(codes: Readonly<Record<string, number>>): string {
  const entries = Object.entries(codes);
  if (entries.length === 0) return '';
  const shown = entries.slice(0, 3).map(([code, count]) => `${code} ${count}`);
  if (entries.length > 3) shown.push(`+${entries.length - 3} more`);
  return ` (${shown.join(', ')})`;
}
