import { isAscii, isUtf8 } from 'node:buffer';
import type { FileHandle } from 'node:fs/promises';

import { isEndLine, isIntentLine, isProblem, isRowLine, isRunLine, type EndLine, type LedgerLine } from '../lines.js';
import { OffsetIndex } from '../offset-index.js';
import { scanRowKey, type RowKey } from '../scan-line.js';
import { Uint32Column } from '../../util/columns.js';
import { fingerprint } from '../../util/fingerprint.js';
import type { AtomicFile } from './atomic-file.js';
import { emptyFacts, INVALID, OBJECT, walkLine, type LineFacts } from './line-facts.js';
import { RunCensus } from './runs.js';

// Compaction of a ledger whose index is at hand: the run that closes the ledger has it in memory
// (latest, held and pending-intent offsets of every user). It keeps exactly the lines the
// line-by-line compaction (compact.ts, which JSON.parses every line twice and builds that index
// again) keeps, byte for byte, but reads lines with a walk over their bytes (line-facts.ts) and
// copies the kept ones as bytes, in two passes: one for what must be known before a line can be
// judged (the runs, which ones ended and their counts, each target's latest run), one that copies.
// It also indexes the new file as it writes it (each kept line's new offset is known), so the
// next run reads that index instead of scanning the new file.
//
// It gives up (returns undefined, and the caller compacts line by line) rather than guess: when
// the index does not describe this file (an offset that is not the start of a line of its kind), or
// when a line is not JSON but the index's own scan (scan-line.ts) would have taken it for one, so
// that the index and JSON.parse could disagree about it.

const CHUNK = 4 << 20;
const NEWLINE = 0x0a;

const DROP = 0;
const ROW = 1;
const INTENT = 2;
const RUN = 3;
const END = 4;
/** A JSON object line of a type this version does not know: kept as it is. */
const UNKNOWN = 5;
const GIVE_UP = 6;

const NON_ASCII = /[^\x00-\x7f]/;

export interface IndexedRewrite {
  readonly lines: number;
  readonly runs: number;
  /** Row lines kept. */
  readonly rows: number;
  /** The new file's index: what a scan of it would build. */
  readonly index: OffsetIndex;
}

/** A piece of the file: whole lines, as bytes. */
interface Chunk {
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
class Judged {
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
const KIND = 0x7;
/** A row about a CSV row rather than a user (isProblem). */
const PROBLEM = 1 << 3;
/** A row that changed an avatar (`ok` or `removed`, not a dry run): kept when its run is recent. */
const CHANGE = 1 << 4;
/** A row with `remote` set. */
const REMOTE = 1 << 5;
/** An intent-typed line the ledger's index files as a write (its scan's rule, see intentOfScan). */
const INTENT_KEY = 1 << 6;
/** In a chunk that is not UTF-8: written as decoded, as compact.ts writes it (U+FFFD). */
const DECODE = 1 << 7;
/** A row line at an offset the index holds (a latest or held line): kept. */
const INDEXED = 1 << 8;
/** The pending intent the index holds for its user: kept. */
const PENDING = 1 << 9;
const RUN_SHIFT = 10;
const MAX_RUNS = 2 ** (32 - RUN_SHIFT);

export async function rewriteFromIndex(handle: FileHandle, size: number, out: AtomicFile, keepRuns: number, index: OffsetIndex, chunkBytes = CHUNK): Promise<IndexedRewrite | undefined> {
  const reader = new Reader(handle, size, chunkBytes);

  // Pass 1 judges every line once: what it is, the runs (which are recent, which ended, counts of
  // those that did not), each target's latest run, and the users whose latest line is a row
  // problem. The index's offsets must each be the start of a line of their kind.
  const info = new Uint32Column();
  const keyHi = new Uint32Column();
  const keyLo = new Uint32Column();
  const census = new RunCensus();
  const runNumbers = new Map<unknown, number>();
  const runValues: unknown[] = [];
  const runNumber = (run: unknown): number => {
    let n = runNumbers.get(run);
    if (n === undefined) {
      n = runValues.length;
      runNumbers.set(run, n);
      runValues.push(run);
    }
    return n;
  };
  const runOrder: unknown[] = [];
  const ended = new Set<unknown>();
  const latestRun = new Map<string, number>();
  const problemTargets = new Map<number, string>();
  /** Fingerprints of the users whose latest row line is a row problem (see currentOutcomes). */
  const problemLatest = new Set<string>();
  const { rows: rowOffsets, intents: intentOffsets } = index.keptOffsets();
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

  const pass1 = await reader.each((line, offset, chunk) => {
    const at = lines++;
    if (nextRow < rowOffsets.length && rowOffsets[nextRow]! < offset) return false;
    if (nextIntent < intentOffsets.length && intentOffsets[nextIntent]! < offset) return false;
    let flags = line.kind | (chunk.utf8 ? 0 : DECODE);
    if (nextRow < rowOffsets.length && rowOffsets[nextRow] === offset) {
      if (line.kind !== ROW) return false;
      nextRow++;
      flags |= INDEXED;
    }
    if (nextIntent < intentOffsets.length && intentOffsets[nextIntent] === offset) {
      if (line.kind !== INTENT) return false;
      nextIntent++;
      flags |= PENDING;
    }
    let run = 0;
    if (line.kind === ROW) {
      if (line.line !== undefined) census.add({ line: line.line, offset, bytes: 0 });
      else census.addRow(line.run as string, line.target, line.status as string);
      run = runNumber(line.run);
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
      // (Every line of an empty user is a problem: no current line to look for.)
      if (line.outcomesProblem && line.user !== '' && index.find(line.target, line.user)?.latest === offset) {
        problemLatest.add(`${scratch[0]}:${scratch[1]}`);
      }
    } else if (line.kind === INTENT || line.kind === UNKNOWN) {
      if (line.text === undefined ? line.intentKey : intentOfScan(line.text, key)) {
        flags |= INTENT_KEY;
        fingerprintLine(line, at);
      }
    } else if (line.kind === RUN) {
      census.add({ line: line.line!, offset, bytes: 0 });
      runOrder.push(line.line!.run);
      run = runNumber(line.line!.run);
    } else if (line.kind === END) {
      census.add({ line: line.line!, offset, bytes: 0 });
      ended.add(line.line!.run);
    }
    if (run >= MAX_RUNS) return false;
    info.set(at, flags | (run << RUN_SHIFT));
    return true;
  });
  if (!pass1 || nextRow < rowOffsets.length || nextIntent < intentOffsets.length) return undefined;
  const recent = new Set(runOrder.slice(Math.max(0, runOrder.length - keepRuns)).map(runNumber));
  const counts = new Map(census.summaries().map((run) => [run.run, run.counts]));
  const outcomeKept = problemLatest.size === 0 ? new Set<number>() : await currentOutcomes(reader, problemLatest, keyHi, keyLo);
  if (outcomeKept === undefined) return undefined;

  // Pass 2: copy what is kept, as bytes, and index the new file.
  const fresh = new OffsetIndex();
  let rows = 0;
  let at = 0;
  for await (const chunk of reader.chunks(false)) {
    const bytes = chunk.bytes;
    for (let start = 0; start < chunk.length; at++) {
      const end = bytes.indexOf(NEWLINE, start);
      const flags = info.get(at);
      const kind = flags & KIND;
      const run = flags >>> RUN_SHIFT;
      let keep: boolean;
      if (kind === ROW) {
        keep =
          (flags & INDEXED) !== 0 ||
          ((flags & PROBLEM) !== 0 ? latestRun.get(problemTargets.get(at)!) === run : outcomeKept.has(at)) ||
          ((flags & CHANGE) !== 0 && recent.has(run));
      } else {
        keep = kind === RUN || kind === END || kind === UNKNOWN || (kind === INTENT && (flags & PENDING) !== 0);
      }
      if (keep) {
        const where = out.bytes;
        if ((flags & DECODE) === 0) out.append(bytes.subarray(start, end + 1), 1);
        else out.appendLine(bytes.toString('utf8', start, end));
        if (kind === ROW) {
          fresh.recordAt(keyHi.get(at), keyLo.get(at), where, (flags & REMOTE) !== 0);
          rows++;
        } else if ((flags & INTENT_KEY) !== 0) {
          fresh.recordIntentAt(keyHi.get(at), keyLo.get(at), where);
        } else if (kind === RUN && !ended.has(runValues[run])) {
          const value = runValues[run] as string;
          const line: EndLine = { type: 'end', run: value, counts: { ...counts.get(value) }, compacted: true };
          out.appendLine(JSON.stringify(line));
          ended.add(value);
        }
      }
      start = end + 1;
    }
    await out.drain();
  }
  if (at !== lines) return undefined; // the file changed under us
  return { lines, runs: runOrder.length, rows, index: fresh };
}

/**
 * For users whose latest row line is a row problem (a duplicate in the CSV), the latest line that
 * is not: what `status` reports for them, so compaction keeps it (by line number; its user's
 * fingerprint goes to `keyHi`/`keyLo`). Keyed by fingerprint, as Outcomes is.
 */
async function currentOutcomes(reader: Reader, users: ReadonlySet<string>, keyHi: Uint32Column, keyLo: Uint32Column): Promise<Set<number> | undefined> {
  const latest = new Map<string, number>();
  const scratch = new Uint32Array(2);
  let at = 0;
  const done = await reader.each((line) => {
    if (line.kind === ROW && !line.outcomesProblem) {
      fingerprint(scratch, line.target, line.user);
      const key = `${scratch[0]}:${scratch[1]}`;
      if (users.has(key)) {
        latest.set(key, at);
        keyHi.set(at, scratch[0]!);
        keyLo.set(at, scratch[1]!);
      }
    }
    at++;
    return true;
  });
  return done ? new Set(latest.values()) : undefined;
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

/** Reads the file chunk by chunk and judges each whole line. */
class Reader {
  private readonly facts: LineFacts = emptyFacts();
  private readonly line = new Judged();
  private readonly key: RowKey = { type: undefined, target: undefined, user: undefined, remote: false };

  constructor(
    private readonly handle: FileHandle,
    private readonly size: number,
    private readonly chunkBytes: number,
  ) {}

  /** Calls `visit` for every whole line in order (synchronously: an await a line would cost more
   * than the walk); false when a visit or a line says give up. */
  async each(visit: Visit): Promise<boolean> {
    for await (const chunk of this.chunks()) {
      const bytes = chunk.bytes;
      for (let start = 0; start < chunk.length; ) {
        const end = bytes.indexOf(NEWLINE, start);
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
    let base = 0;
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
        if (base + filled < this.size) reading = this.readInto(bytes, filled, base);
        continue;
      }
      const rest = filled - length;
      if (ahead.length < bytes.length) ahead = Buffer.allocUnsafe(bytes.length);
      bytes.copy(ahead, 0, length, filled);
      if (base + filled < this.size) reading = this.readInto(ahead, rest, base + length);
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
    const reading = this.handle.read(into, at, Math.min(into.length - at, this.size - base - at), base + at).then(({ bytesRead }) => bytesRead);
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
