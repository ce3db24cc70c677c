// How long a request may wait for its answer, learnt from the answers the server has given
// (TCP's retransmission timer, RFC 6298): a smoothed latency and its deviation per kind of call,
// so a lookup that takes 5 ms and an upload that takes 2 s are timed apart. Until a kind has a
// few answers, and never more than, the ceiling (--request-timeout) applies. A call that times out
// doubles its kind's timeout until an answer comes back, so a server that became slow for good is
// followed instead of timed out forever.

/** --request-timeout when not given: long, because some writes do their work before answering
 * (Synapse < 1.150 sends the avatar to every room first). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 90_000;
/** Never shorter than this, however fast the server has been: a GC pause, a busy database. */
export const MIN_REQUEST_TIMEOUT_MS = 2_000;
/** Answers of a kind before its own timeout replaces the ceiling. */
const SAMPLES_BEFORE_ADAPTING = 8;
/** The timeout is this many times the usual worst (latency + 4 deviations). */
const MARGIN = 3;
const MAX_BACKOFF = 64;

interface Estimate {
  srtt: number;
  rttvar: number;
  samples: number;
  backoff: number;
}

export class Deadlines {
  readonly #ceilingMs: number;
  readonly #floorMs: number;
  readonly #kinds = new Map<string, Estimate>();

  constructor(ceilingMs: number = DEFAULT_REQUEST_TIMEOUT_MS) {
    this.#ceilingMs = ceilingMs;
    this.#floorMs = Math.min(MIN_REQUEST_TIMEOUT_MS, ceilingMs);
  }

  get ceilingMs(): number {
    return this.#ceilingMs;
  }

  /** The timeout for the next call of this kind. */
  timeoutFor(kind: string): number {
    const e = this.#kinds.get(kind);
    if (!e || e.samples < SAMPLES_BEFORE_ADAPTING) return this.#ceilingMs;
    const usual = Math.max(this.#floorMs, MARGIN * (e.srtt + 4 * e.rttvar));
    return Math.min(this.#ceilingMs, Math.round(usual * e.backoff));
  }

  /** An answer (any status) came after `ms`. */
  observe(kind: string, ms: number): void {
    const e = this.#kinds.get(kind);
    if (!e) {
      this.#kinds.set(kind, { srtt: ms, rttvar: ms / 2, samples: 1, backoff: 1 });
      return;
    }
    e.rttvar = 0.75 * e.rttvar + 0.25 * Math.abs(e.srtt - ms);
    e.srtt = 0.875 * e.srtt + 0.125 * ms;
    e.samples++;
    e.backoff = 1;
  }

  /** A call of this kind got no answer in time: its latency is unknown, only longer. */
  timedOut(kind: string): void {
    const e = this.#kinds.get(kind);
    if (e) e.backoff = Math.min(MAX_BACKOFF, e.backoff * 2);
  }
}
