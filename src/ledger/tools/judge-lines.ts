import { isAscii, isUtf8 } from 'node:buffer';

import { isEndLine, isIntentLine, isProblem, isRowLine, isRunLine, type EndLine, type LedgerLine, type RunLine } from '../lines.js';
import type { KeptLines } from '../offset-index.js';
import { scanRowKey, type RowKey } from '../scan-line.js';
import type { TrustedRange } from '../trusted-lines.js';
import { Uint32Column } from '../../util/columns.js';
import { fingerprint } from '../../util/fingerprint.js';
import { Numbering } from '../../util/numbering.js';
import { emptyFacts, INVALID, OBJECT, walkLine, type LineFacts } from './line-facts.js';

// The first pass of compaction from the index (compact-from-index.ts) over a stretch of the
// ledger: what each line is, judged from its bytes (line-facts.ts), and what must be known of the
// runs before a line can be kept or dropped. A stretch's findings are plain data (typed arrays,
// strings, Maps, line objects), so that a worker thread can judge the second half of a big ledger
// while the main thread judges the first (judge-lines-worker.ts), and hand them over.

export const NEWLINE = 0x0a;

export const DROP = 0;
export const ROW = 1;
export const INTENT = 2;
export const RUN = 3;
export const END = 4;
/** A JSON object line of a type this version does not know: kept as it is. */
export const UNKNOWN = 5;
const GIVE_UP = 6;

const NON_ASCII = /[^\x00-\x7f]/;

/** A piece of the file: whole lines, as bytes. */
export interface Chunk {
  readonly bytes: Buffer;
  /** File offset of bytes[0]. */
  readonly base: number;
  /** Bytes of whole lines. */
  readonly length: number;
  /** Well-formed UTF-8: otherwise every line is decoded and parsed, as compact.ts does. */
  readonly utf8: boolean;
  readonly ascii: boolean;
}

/** What one line is, as compact.ts would see it. */
export class Judged {
  kind = DROP;
  run: unknown;
  target = '';
  user = '';
  status: unknown;
  reason: unknown;
  remote = false;
  /** isProblem: a row about a CSV row rather than a user. */
  problem = false;
  /** Whether Outcomes (outcomes.ts) files the row as a problem, which it decides a little
   * differently (it trusts the scan for lines without "duplicate_user"). */
  outcomesProblem = false;
  /** Run and end lines, and rows that were parsed. */
  line: LedgerLine | undefined;
  /** The decoded text, when the line was parsed. */
  text: string | undefined;
  /** An intent-typed line the ledger's index records as a pending write (its scan's rule). */
  intentKey = false;
}

// What pass 1 learns of each line, for pass 2: a uint32 a line (kind, flags, and the line's run).
export const KIND = 0x7;
/** A row about a CSV row rather than a user (isProblem). */
export const PROBLEM = 1 << 3;
/** A row that changed an avatar (`ok` or `removed`, not a dry run): kept when its run is recent. */
export const CHANGE = 1 << 4;
/** A row with `remote` set. */
export const REMOTE = 1 << 5;
/** An intent-typed line the ledger's index files as a write (its scan's rule, see intentOfScan). */
export const INTENT_KEY = 1 << 6;
/** In a chunk that is not UTF-8: written as decoded, as compact.ts writes it (U+FFFD). */
export const DECODE = 1 << 7;
/** A row line at an offset the index holds (a latest or held line): kept. */
export const INDEXED = 1 << 8;
/** The pending intent the index holds for its user: kept. */
export const PENDING = 1 << 9;
export const RUN_SHIFT = 10;
export const MAX_RUNS = 2 ** (32 - RUN_SHIFT);

/** What pass 1 learns of a stretch of the file. Lines are numbered from the stretch's first. */
export interface Stretch {
  readonly lines: number;
  /** Per line: kind and flags, and the line's run as this stretch numbers runs (see `runs`); the
   * chunks of a Uint32Column (transferable). */
  readonly info: Uint32Array[];
  /** The fingerprint of each line's (target, user), where one may be needed. */
  readonly keyHi: Uint32Array[];
  readonly keyLo: Uint32Array[];
  /** The stretch's run numbers, in order of first appearance: the run each stands for. */
  readonly runs: unknown[];
  /** The run and end lines, in order. */
  readonly marks: (RunLine | EndLine)[];
  /** Row lines counted by run number and status, statuses in the order they first came (the
   * runs' census; an end line compaction writes lists them in that order). */
  readonly counts: Map<number, Map<unknown, number>>;
  /** The targets each run number wrote rows for. */
  readonly targets: Map<number, Set<string>>;
  /** The run number of each target's last row line. */
  readonly latestRun: Map<string, number>;
  /** Lines that are row problems, and their target. */
  readonly problemTargets: Map<number, string>;
  /** Rows Outcomes files as problems: whether one is its user's latest line, the index says. */
  readonly outcomeProblems: OutcomeProblem[];
}

export interface OutcomeProblem {
  readonly target: string;
  readonly user: string;
  readonly offset: number;
  readonly hi: number;
  readonly lo: number;
}

/** Reads `length` bytes of the file at `position` into `into` from `at`; resolves to bytes read. */
export type ReadAt = (into: Buffer, at: number, length: number, position: number) => Promise<number>;

/**
 * Judges every line of the file's stretch [from, to) (which starts a line and ends one): undefined
 * when compaction must give up. `kept` holds the sorted offsets the index holds in that stretch
 * (latest and held row lines, pending intents), each of which must be the start of a line of its
 * kind; lines in `trusted` ranges are taken on trust (trusted-lines.ts).
 */
export async function judgeStretch(read: ReadAt, from: number, to: number, chunkBytes: number, kept: KeptLines, trusted: readonly TrustedRange[]): Promise<Stretch | undefined> {
  const { rows, intents } = kept;
  const info = new Uint32Column();
  const keyHi = new Uint32Column();
  const keyLo = new Uint32Column();
  const runs = new Numbering<unknown>();
  const runNumber = (run: unknown): number => runs.of(run);
  const marks: (RunLine | EndLine)[] = [];
  const counts = new Map<number, Map<unknown, number>>();
  const targets = new Map<number, Set<string>>();
  const count = (run: number, target: string, status: unknown): void => {
    let byStatus = counts.get(run);
    if (byStatus === undefined) {
      counts.set(run, (byStatus = new Map()));
      targets.set(run, new Set());
    }
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
    targets.get(run)!.add(target);
  };
  const latestRun = new Map<string, number>();
  const problemTargets = new Map<number, string>();
  const outcomeProblems: OutcomeProblem[] = [];
  let nextRow = 0;
  let nextIntent = 0;
  let lines = 0;
  const scratch = new Uint32Array(2);
  const key: RowKey = { type: undefined, target: undefined, user: undefined, remote: false };
  const fingerprintLine = (line: Judged, at: number): void => {
    fingerprint(scratch, line.target, line.user);
    keyHi.set(at, scratch[0]!);
    keyLo.set(at, scratch[1]!);
  };

  // A plain line is what its offset says: the index's latest or held row line for a key (kept),
  // its pending intent (kept), or neither (dropped). Its target's latest run comes from its range,
  // applied where the range ends (its own lines' special rows set it before, and the range's
  // summary is what the last row of each target there says), by the stretch the end falls in.
  const ranges = trusted.filter((range) => range.end > from && range.start < to);
  let r = 0;
  let s = 0;
  const ended = (range: TrustedRange): void => {
    if (range.end <= to) for (const [target, run] of range.latestRuns) latestRun.set(target, runNumber(run));
  };
  let c = 0;
  const onTrust: Trusted = {
    trust(offset) {
      while (r < ranges.length && ranges[r]!.end <= offset) {
        ended(ranges[r++]!);
        s = 0;
        c = 0;
      }
      const range = ranges[r];
      if (range === undefined || offset < range.start) return JUDGE;
      const { specials, changes } = range;
      while (s < specials.length && specials[s]! < offset) s++;
      if (s < specials.length && specials[s] === offset) return JUDGE;
      while (c < changes.offsets.length && changes.offsets[c]! < offset) c++;
      return c < changes.offsets.length && changes.offsets[c] === offset ? c : PLAIN_LINE;
    },
    visit(offset, trust) {
      const at = lines++;
      if (nextRow < rows.length && rows[nextRow]! < offset) return false;
      if (nextIntent < intents.length && intents[nextIntent]! < offset) return false;
      const indexed = nextRow < rows.length && rows[nextRow] === offset;
      if (trust >= 0) {
        // A change: a row line kept while its run is recent, whatever the index says.
        const changes = ranges[r]!.changes;
        const run = runNumber(changes.runs[changes.run[trust]!]);
        if (run >= MAX_RUNS) return false;
        info.set(at, ROW | CHANGE | (changes.remote[trust] === 1 ? REMOTE : 0) | (indexed ? INDEXED : 0) | (run << RUN_SHIFT));
        keyHi.set(at, changes.hi[trust]!);
        keyLo.set(at, changes.lo[trust]!);
        if (indexed) nextRow++;
      } else if (indexed) {
        info.set(at, ROW | INDEXED | (kept.rowHeld[nextRow] === 1 ? REMOTE : 0));
        keyHi.set(at, kept.rowHi[nextRow]!);
        keyLo.set(at, kept.rowLo[nextRow]!);
        nextRow++;
      } else if (nextIntent < intents.length && intents[nextIntent] === offset) {
        info.set(at, INTENT | PENDING | INTENT_KEY);
        keyHi.set(at, kept.intentHi[nextIntent]!);
        keyLo.set(at, kept.intentLo[nextIntent]!);
        nextIntent++;
      }
      return true;
    },
  };

  const judged = await new Reader(read, from, to, chunkBytes).each((line, offset, chunk) => {
    const at = lines++;
    if (nextRow < rows.length && rows[nextRow]! < offset) return false;
    if (nextIntent < intents.length && intents[nextIntent]! < offset) return false;
    let flags = line.kind | (chunk.utf8 ? 0 : DECODE);
    if (nextRow < rows.length && rows[nextRow] === offset) {
      if (line.kind !== ROW) return false;
      nextRow++;
      flags |= INDEXED;
    }
    if (nextIntent < intents.length && intents[nextIntent] === offset) {
      if (line.kind !== INTENT) return false;
      nextIntent++;
      flags |= PENDING;
    }
    let run = 0;
    if (line.kind === ROW) {
      run = runNumber(line.run);
      count(run, line.target, line.status);
      latestRun.set(line.target, run);
      if (line.problem) {
        flags |= PROBLEM;
        problemTargets.set(at, line.target);
      }
      if ((line.status === 'ok' || line.status === 'removed') && line.reason !== 'dry_run') flags |= CHANGE;
      if (line.remote) flags |= REMOTE;
      // Only a line that may be kept needs its user's fingerprint, for the new file's index.
      if ((flags & (INDEXED | PROBLEM | CHANGE)) !== 0) fingerprintLine(line, at);
      // Outcomes' current line for a user is their latest row that is not a problem: the index's
      // latest, unless that one is a problem (a duplicate), for which a pass of their own looks.
      // (Every line of an empty user is a problem: no current line to look for.) A problem is
      // fingerprinted just above.
      if (line.outcomesProblem && line.user !== '') outcomeProblems.push({ target: line.target, user: line.user, offset, hi: scratch[0]!, lo: scratch[1]! });
    } else if (line.kind === INTENT || line.kind === UNKNOWN) {
      if (line.text === undefined ? line.intentKey : intentOfScan(line.text, key)) {
        flags |= INTENT_KEY;
        fingerprintLine(line, at);
      }
    } else if (line.kind === RUN) {
      marks.push(line.line as RunLine);
      run = runNumber((line.line as RunLine).run);
    } else if (line.kind === END) {
      marks.push(line.line as EndLine);
    }
    if (run >= MAX_RUNS) return false;
    info.set(at, flags | (run << RUN_SHIFT));
    return true;
  }, ranges.length === 0 ? undefined : onTrust);
  for (; r < ranges.length; r++) ended(ranges[r]!);
  if (!judged || nextRow < rows.length || nextIntent < intents.length) return undefined;
  return { lines, info: info.toChunks(), keyHi: keyHi.toChunks(), keyLo: keyLo.toChunks(), runs: runs.values, marks, counts, targets, latestRun, problemTargets, outcomeProblems };
}

/** The ledger's index records an intent line when its scan says `type` is "intent" with a target
 * and user, or (the scan unsure) when it is a whole intent line (ledger.ts, indexLine). */
function intentOfScan(text: string, key: RowKey): boolean {
  if (scanRowKey(text, key)) return key.type === 'intent' && key.target !== undefined && key.user !== undefined;
  try {
    return isIntentLine(JSON.parse(text));
  } catch {
    return false;
  }
}

/** False: give up. */
type Visit = (line: Judged, offset: number, chunk: Chunk) => boolean;

/** Lines taken on trust (trusted-lines.ts): `trust` says what the line at an offset is, asked for
 * every line in order: JUDGE (not taken on trust), PLAIN_LINE, or which change line of its range;
 * `visit` takes it instead of judging it (false: give up). */
interface Trusted {
  trust(offset: number): number;
  visit(offset: number, trust: number): boolean;
}

const JUDGE = -1;
const PLAIN_LINE = -2;

/** Reads the stretch [from, to) of the file chunk by chunk and judges each whole line. */
export class Reader {
  private readonly facts: LineFacts = emptyFacts();
  private readonly line = new Judged();
  private readonly key: RowKey = { type: undefined, target: undefined, user: undefined, remote: false };

  constructor(
    private readonly read: ReadAt,
    private readonly from: number,
    private readonly to: number,
    private readonly chunkBytes: number,
  ) {}

  /** Calls `visit` for every whole line in order (synchronously: an await a line would cost more
   * than the walk); false when a visit or a line says give up. */
  async each(visit: Visit, trusted?: Trusted): Promise<boolean> {
    for await (const chunk of this.chunks()) {
      const bytes = chunk.bytes;
      for (let start = 0; start < chunk.length; ) {
        const end = bytes.indexOf(NEWLINE, start);
        const trust = trusted === undefined ? JUDGE : trusted.trust(chunk.base + start);
        if (trust !== JUDGE) {
          if (!trusted!.visit(chunk.base + start, trust)) return false;
          start = end + 1;
          continue;
        }
        if (chunk.utf8) this.judge(chunk, start, end);
        else this.judgeText(bytes.toString('utf8', start, end));
        if (this.line.kind === GIVE_UP) return false;
        if (!visit(this.line, chunk.base + start, chunk)) return false;
        start = end + 1;
      }
    }
    return true;
  }

  /**
   * The file's whole lines, a chunk at a time; `judged`: with what judging them needs. The next
   * chunk is read while this one is judged (two buffers, swapped): the reads were ~0.1 s of a
   * 100 000-user compaction spent waiting, on a machine whose other core was idle.
   */
  async *chunks(judged = true): AsyncGenerator<Chunk> {
    let bytes = Buffer.allocUnsafe(this.chunkBytes);
    /** What the read ahead fills: the part line `bytes` ends with, then the file after it. */
    let ahead = Buffer.allocUnsafe(this.chunkBytes);
    let base = this.from;
    let filled = 0;
    let reading: Promise<number> | undefined = this.readInto(bytes, 0, base);
    while (reading !== undefined) {
      const bytesRead = await reading;
      reading = undefined;
      if (bytesRead === 0) return; // the file shrank under us: nothing more to read
      filled += bytesRead;
      const length = bytes.lastIndexOf(NEWLINE, filled - 1) + 1;
      if (length === 0) {
        // Not one whole line yet: read on into this buffer, made bigger when full rather than
        // cut the line.
        if (filled === bytes.length) {
          const bigger = Buffer.allocUnsafe(bytes.length * 2);
          bytes.copy(bigger, 0, 0, filled);
          bytes = bigger;
        }
        if (base + filled < this.to) reading = this.readInto(bytes, filled, base);
        continue;
      }
      const rest = filled - length;
      if (ahead.length < bytes.length) ahead = Buffer.allocUnsafe(bytes.length);
      bytes.copy(ahead, 0, length, filled);
      if (base + filled < this.to) reading = this.readInto(ahead, rest, base + length);
      const whole = bytes.subarray(0, length);
      const utf8 = judged && isUtf8(whole);
      const ascii = utf8 && isAscii(whole);
      yield { bytes, base, length, utf8, ascii };
      [bytes, ahead] = [ahead, bytes];
      base += length;
      filled = rest;
    }
  }

  /** Reads into `into` from `at` the file from `base + at` on. A read still going when the
   * reading stops (a visit gave up) fails, if it does, unheard: nobody waits for it. */
  private readInto(into: Buffer, at: number, base: number): Promise<number> {
    const reading = this.read(into, at, Math.min(into.length - at, this.to - base - at), base + at);
    reading.catch(() => undefined);
    return reading;
  }

  /**
   * A line of a well-formed UTF-8 chunk: walked, or parsed when it holds what the walk cannot
   * judge (a backslash: an escape; a control character; "duplicate_user": a row problem whose code
   * is in the nested `error`). Decoded a line at a time, as latin1 (a character a byte): one
   * string a chunk would be an external string of megabytes a chunk, which the young generation's
   * collections do not see, and a compaction's RSS grew by ~60 MB of them.
   */
  private judge(chunk: Chunk, start: number, end: number): void {
    const facts = this.facts;
    const text = chunk.bytes.toString('latin1', start, end);
    const special = text.includes('\\') || CONTROL.test(text) || text.includes('duplicate_user');
    const status = special ? -1 : walkLine(text, 0, text.length, facts);
    if (status !== OBJECT) {
      const text = chunk.bytes.toString('utf8', start, end);
      // Not JSON: dropped, unless the index's scan took it for a line (then they may disagree).
      if (status === INVALID) this.invalid(text);
      else this.judgeText(text);
      return;
    }
    const line = this.line;
    line.line = undefined;
    line.text = undefined;
    const type = facts.type;
    if (type === 'row') {
      if (facts.target === undefined || facts.user === undefined) {
        line.kind = DROP;
      } else if (facts.run === undefined || facts.status === undefined) {
        this.judgeText(chunk.bytes.toString('utf8', start, end)); // counted under "undefined": as parsed
      } else {
        line.kind = ROW;
        const decode = !chunk.ascii && NON_ASCII.test(text);
        line.run = decode ? chunk.bytes.toString('utf8', start + facts.runAt, start + facts.runEnd) : facts.run;
        line.target = decode ? chunk.bytes.toString('utf8', start + facts.targetAt, start + facts.targetEnd) : facts.target;
        line.user = decode ? chunk.bytes.toString('utf8', start + facts.userAt, start + facts.userEnd) : facts.user;
        line.status = decode ? chunk.bytes.toString('utf8', start + facts.statusAt, start + facts.statusEnd) : facts.status;
        line.reason = facts.reason;
        line.remote = facts.remote;
        // "duplicate_user" would have made the line special: only an empty user is a problem.
        line.problem = line.outcomesProblem = facts.user === '';
      }
    } else if (type === 'run' || type === 'end') {
      this.judgeText(chunk.bytes.toString('utf8', start, end)); // few, and their objects are needed
    } else if (type === 'intent') {
      const keyed = facts.target !== undefined && facts.user !== undefined;
      line.kind = keyed && facts.outputSha256 && facts.bytes ? INTENT : UNKNOWN;
      line.intentKey = keyed;
      if (keyed) {
        const decode = !chunk.ascii && NON_ASCII.test(text);
        line.target = decode ? chunk.bytes.toString('utf8', start + facts.targetAt, start + facts.targetEnd) : facts.target!;
        line.user = decode ? chunk.bytes.toString('utf8', start + facts.userAt, start + facts.userEnd) : facts.user!;
      }
    } else {
      line.kind = type === undefined || type === 'compacted' ? DROP : UNKNOWN;
      line.intentKey = false;
    }
  }

  private invalid(text: string): void {
    this.line.kind = scanRowKey(text, this.key) ? GIVE_UP : DROP;
  }

  /** A line judged as compact.ts judges it: JSON.parse. */
  private judgeText(text: string): void {
    const line = this.line;
    line.text = text;
    line.line = undefined;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.invalid(text);
      return;
    }
    if (isRowLine(value)) {
      line.kind = ROW;
      line.line = value;
      line.run = value.run;
      line.target = value.target;
      line.user = value.user;
      line.status = value.status;
      line.reason = value.reason;
      line.remote = typeof value.remote === 'string';
      line.problem = isProblem(value);
      line.outcomesProblem = scanRowKey(text, this.key) ? value.user === '' || (text.includes('"duplicate_user"') && isProblem(value)) : isProblem(value);
    } else if (isRunLine(value)) {
      line.kind = RUN;
      line.line = value;
    } else if (isEndLine(value)) {
      line.kind = END;
      line.line = value;
    } else if (text.includes('"intent"') && isIntentLine(value)) {
      line.kind = INTENT;
      line.target = value.target;
      line.user = value.user;
    } else if (isUnknownType(value)) {
      line.kind = UNKNOWN;
      const keyed = value as { target?: unknown; user?: unknown };
      if (typeof keyed.target === 'string' && typeof keyed.user === 'string') {
        line.target = keyed.target;
        line.user = keyed.user;
      }
    } else {
      line.kind = DROP;
    }
  }
}

/** Control characters but the newline, which ends lines. */
const CONTROL = /[\x00-\x09\x0b-\x1f]/;

/** A JSON object with a `type` no reader here knows (compact.ts, isUnknownType). */
function isUnknownType(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const type = (value as { type?: unknown }).type;
  return typeof type === 'string' && !['row', 'run', 'end', 'compacted'].includes(type);
}
