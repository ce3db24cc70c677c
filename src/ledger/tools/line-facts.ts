// What compaction needs to know about a line (its type, run, target, user, status …), read from
// the ledger's bytes without building the line's object: JSON.parse of every line was most of a
// compaction's cost (~2 µs a line, two passes, a third of a million lines on a nightly compaction
// of 100 000 users).
//
// Contract, tested against JSON.parse: the walk answers only for a line it can judge exactly (no
// backslash, no control character, well-formed UTF-8: what JSON.stringify writes for nearly every
// line), and then says what JSON.parse would: whether the line is JSON at all (every value is
// checked, nested ones included, numbers by the grammar), and the last value of each field it
// reads. Anything else (an escape, a field of ours that is not a string, a top level that is not
// an object) is `SLOW`: the caller asks JSON.parse.
//
// The walk runs over a latin1 view of the bytes (one character a byte, so a position is a byte
// offset; structure is ASCII, and UTF-8 never puts an ASCII byte inside a multi-byte character).

/** The line is JSON and the fields below are what JSON.parse would give. */
export const OBJECT = 0;
/** The line is not JSON (a torn line): JSON.parse would throw. */
export const INVALID = 1;
/** Not sure: ask JSON.parse. */
export const SLOW = 2;

/** The fields a walk fills; strings as latin1 (the caller decodes what it keeps, see `decode`). */
export interface LineFacts {
  type: string | undefined;
  run: string | undefined;
  target: string | undefined;
  user: string | undefined;
  status: string | undefined;
  reason: string | undefined;
  /** `remote` is a string. */
  remote: boolean;
  /** `outputSha256` is a string. */
  outputSha256: boolean;
  /** `bytes` is a number. */
  bytes: boolean;
  /** Where `run`, `target`, `user` and `status` are in the text (to decode them as UTF-8 when the
   * line is not ASCII), -1 when absent. */
  runAt: number;
  runEnd: number;
  targetAt: number;
  targetEnd: number;
  userAt: number;
  userEnd: number;
  statusAt: number;
  statusEnd: number;
}

export function emptyFacts(): LineFacts {
  return { type: undefined, run: undefined, target: undefined, user: undefined, status: undefined, reason: undefined, remote: false, outputSha256: false, bytes: false, runAt: -1, runEnd: -1, targetAt: -1, targetEnd: -1, userAt: -1, userEnd: -1, statusAt: -1, statusEnd: -1 };
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const SPACE = 0x20;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const LOWER_E = 0x65;
const UPPER_E = 0x45;

const OTHER = 0;
const TYPE = 1;
const RUN = 2;
const TARGET = 3;
const USER = 4;
const STATUS = 5;
const REASON = 6;
const REMOTE = 7;
const OUTPUT = 8;
const BYTES = 9;

/** Deeper than this, JSON.parse decides (it has its own limit). */
const MAX_DEPTH = 64;

/**
 * Fills `out` from the line `text[start, end)`, which the caller has checked holds no backslash,
 * no control character (so the only whitespace is a space) and only well-formed UTF-8.
 */
export function walkLine(text: string, start: number, end: number, out: LineFacts): number {
  out.type = out.run = out.target = out.user = out.status = out.reason = undefined;
  out.remote = out.outputSha256 = out.bytes = false;
  out.runAt = out.runEnd = out.targetAt = out.targetEnd = out.userAt = out.userEnd = out.statusAt = out.statusEnd = -1;
  let p = skipSpace(text, start, end);
  if (p >= end || text.charCodeAt(p) !== OPEN_BRACE) return SLOW; // JSON, perhaps, but no object
  p = skipSpace(text, p + 1, end);
  if (p < end && text.charCodeAt(p) === CLOSE_BRACE) return skipSpace(text, p + 1, end) === end ? OBJECT : INVALID;
  for (;;) {
    if (p >= end || text.charCodeAt(p) !== QUOTE) return INVALID;
    const keyEnd = text.indexOf('"', p + 1);
    if (keyEnd < 0 || keyEnd >= end) return INVALID;
    const field = fieldAt(text, p + 1, keyEnd);
    p = skipSpace(text, keyEnd + 1, end);
    if (p >= end || text.charCodeAt(p) !== COLON) return INVALID;
    p = skipSpace(text, p + 1, end);
    if (p >= end) return INVALID;
    const first = text.charCodeAt(p);
    if (first === QUOTE) {
      const close = text.indexOf('"', p + 1);
      if (close < 0 || close >= end) return INVALID;
      if (field !== OTHER) setString(out, field, text, p + 1, close);
      p = close + 1;
    } else {
      const after = first === OPEN_BRACE || first === OPEN_BRACKET ? containerEnd(text, p, end, 1) : scalarEnd(text, p, end);
      if (after < 0) return after === -2 ? SLOW : INVALID;
      // A field of ours that is not a string: rare enough to leave to JSON.parse, except the flags.
      if (field === REMOTE) out.remote = false;
      else if (field === OUTPUT) out.outputSha256 = false;
      else if (field === BYTES) out.bytes = first !== OPEN_BRACE && first !== OPEN_BRACKET && isNumberStart(first);
      else if (field !== OTHER) return SLOW;
      p = after;
    }
    p = skipSpace(text, p, end);
    if (p >= end) return INVALID;
    const next = text.charCodeAt(p);
    if (next === COMMA) {
      p = skipSpace(text, p + 1, end);
      continue;
    }
    if (next !== CLOSE_BRACE) return INVALID;
    return skipSpace(text, p + 1, end) === end ? OBJECT : INVALID;
  }
}

function setString(out: LineFacts, field: number, text: string, from: number, to: number): void {
  switch (field) {
    case TYPE:
      out.type = text.slice(from, to);
      break;
    case RUN:
      out.run = text.slice(from, to);
      out.runAt = from;
      out.runEnd = to;
      break;
    case TARGET:
      out.target = text.slice(from, to);
      out.targetAt = from;
      out.targetEnd = to;
      break;
    case USER:
      out.user = text.slice(from, to);
      out.userAt = from;
      out.userEnd = to;
      break;
    case STATUS:
      out.status = text.slice(from, to);
      out.statusAt = from;
      out.statusEnd = to;
      break;
    case REASON:
      out.reason = text.slice(from, to);
      break;
    case REMOTE:
      out.remote = true;
      break;
    case OUTPUT:
      out.outputSha256 = true;
      break;
    case BYTES:
      out.bytes = false;
      break;
  }
}

/** Which field of ours the key text[start, end) names: its length and a character or two first,
 * so that the dozen other keys of a row line cost no string comparison. */
function fieldAt(text: string, start: number, end: number): number {
  const first = text.charCodeAt(start);
  switch (end - start) {
    case 3:
      return first === 0x72 && text.startsWith('run', start) ? RUN : OTHER;
    case 4:
      if (first === 0x74) return text.startsWith('type', start) ? TYPE : OTHER;
      return first === 0x75 && text.startsWith('user', start) ? USER : OTHER;
    case 5:
      return first === 0x62 && text.startsWith('bytes', start) ? BYTES : OTHER;
    case 6:
      if (first === 0x74) return text.startsWith('target', start) ? TARGET : OTHER;
      if (first === 0x73) return text.charCodeAt(start + 1) === 0x74 && text.startsWith('status', start) ? STATUS : OTHER;
      if (first !== 0x72) return OTHER;
      if (text.startsWith('reason', start)) return REASON;
      return text.startsWith('remote', start) ? REMOTE : OTHER;
    case 12:
      return first === 0x6f && text.startsWith('outputSha256', start) ? OUTPUT : OTHER;
    default:
      return OTHER;
  }
}

function skipSpace(text: string, p: number, end: number): number {
  while (p < end && text.charCodeAt(p) === SPACE) p++;
  return p;
}

function isNumberStart(c: number): boolean {
  return c === MINUS || (c >= ZERO && c <= NINE);
}

/** Just past the JSON number or literal at `p`, or -1 when there is none. */
function scalarEnd(text: string, p: number, end: number): number {
  const c = text.charCodeAt(p);
  if (c === 0x74) return text.startsWith('true', p) && p + 4 <= end ? p + 4 : -1;
  if (c === 0x66) return text.startsWith('false', p) && p + 5 <= end ? p + 5 : -1;
  if (c === 0x6e) return text.startsWith('null', p) && p + 4 <= end ? p + 4 : -1;
  return numberEnd(text, p, end);
}

/** -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
function numberEnd(text: string, p: number, end: number): number {
  if (p < end && text.charCodeAt(p) === MINUS) p++;
  if (p >= end) return -1;
  const lead = text.charCodeAt(p);
  if (lead === ZERO) p++;
  else if (lead > ZERO && lead <= NINE) p = digitsEnd(text, p + 1, end);
  else return -1;
  if (p < end && text.charCodeAt(p) === DOT) {
    const from = p + 1;
    p = digitsEnd(text, from, end);
    if (p === from) return -1;
  }
  if (p < end) {
    const e = text.charCodeAt(p);
    if (e === LOWER_E || e === UPPER_E) {
      p++;
      if (p < end) {
        const sign = text.charCodeAt(p);
        if (sign === PLUS || sign === MINUS) p++;
      }
      const from = p;
      p = digitsEnd(text, from, end);
      if (p === from) return -1;
    }
  }
  return p;
}

function digitsEnd(text: string, p: number, end: number): number {
  for (; p < end; p++) {
    const c = text.charCodeAt(p);
    if (c < ZERO || c > NINE) break;
  }
  return p;
}

/** Just past the object or array at `p`, every value in it checked; -1 when it is not JSON, -2
 * when nested too deep to judge here. */
function containerEnd(text: string, p: number, end: number, depth: number): number {
  if (depth > MAX_DEPTH) return -2;
  const object = text.charCodeAt(p) === OPEN_BRACE;
  const close = object ? CLOSE_BRACE : CLOSE_BRACKET;
  p = skipSpace(text, p + 1, end);
  if (p < end && text.charCodeAt(p) === close) return p + 1;
  for (;;) {
    if (p >= end) return -1;
    if (object) {
      if (text.charCodeAt(p) !== QUOTE) return -1;
      const keyEnd = text.indexOf('"', p + 1);
      if (keyEnd < 0 || keyEnd >= end) return -1;
      p = skipSpace(text, keyEnd + 1, end);
      if (p >= end || text.charCodeAt(p) !== COLON) return -1;
      p = skipSpace(text, p + 1, end);
      if (p >= end) return -1;
    }
    const c = text.charCodeAt(p);
    let after: number;
    if (c === QUOTE) {
      const q = text.indexOf('"', p + 1);
      after = q < 0 || q >= end ? -1 : q + 1;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      after = containerEnd(text, p, end, depth + 1);
    } else {
      after = scalarEnd(text, p, end);
    }
    if (after < 0) return after;
    p = skipSpace(text, after, end);
    if (p >= end) return -1;
    const next = text.charCodeAt(p);
    if (next === close) return p + 1;
    if (next !== COMMA) return -1;
    p = skipSpace(text, p + 1, end);
  }
}
