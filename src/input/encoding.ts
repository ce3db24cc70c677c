// Which character encoding an HR export is in, and turning it into UTF-8 before the CSV parser.
// Excel's "CSV" in Western Europe is Windows-1252, its "Unicode text" UTF-16LE; reading either as
// UTF-8 silently put U+FFFD into user ids. The rules (issue 12): a BOM decides; else valid UTF-8
// is UTF-8; bytes that are not UTF-8 and hold no multi-byte UTF-8 sequence at all are
// Windows-1252 (said on the first output line); UTF-8 with a few damaged bytes stays UTF-8 and
// the rows holding them fail (csv.ts). iconv-lite does the decoding: it streams and knows the
// names admins type (latin1, cp1252, utf-16be, macintosh …).

import { isAscii } from 'node:buffer';
import iconv from 'iconv-lite';
import { UsageError } from '../errors.js';

export interface EncodingChoice {
  /** The iconv-lite name used, as users may pass it to --encoding. */
  readonly name: string;
  /** undecided: read once, nothing but ASCII so far (lazyToUtf8 decides at the first other byte). */
  readonly why: 'bom' | 'utf-8' | 'fallback' | 'option' | 'undecided';
}

/** What the first output line says when the encoding was guessed rather than known. */
export function announce(choice: EncodingChoice): string | undefined {
  return choice.why === 'fallback' ? `encoding: ${choice.name} (not valid UTF-8; --encoding to choose)` : undefined;
}

/** The `--encoding` value, checked against what iconv-lite can decode. */
export function parseEncodingOption(value: string): string {
  const name = value.trim().toLowerCase();
  if (name === '' || !iconv.encodingExists(name)) {
    throw new UsageError(`--encoding expects an encoding name such as utf-8, windows-1252, latin1, utf-16le, got ${JSON.stringify(value)}`);
  }
  return name;
}

/** The encoding a byte-order mark announces, and its length; undefined without one. */
export function bomOf(head: Buffer): { name: 'utf-8' | 'utf-16le' | 'utf-16be'; length: number } | undefined {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { name: 'utf-8', length: 3 };
  if (head[0] === 0xff && head[1] === 0xfe) return { name: 'utf-16le', length: 2 };
  if (head[0] === 0xfe && head[1] === 0xff) return { name: 'utf-16be', length: 2 };
  return undefined;
}

/**
 * Checks bytes for UTF-8 validity chunk by chunk (a sequence may straddle two chunks), keeping
 * only two facts: whether any byte was not UTF-8, and whether any multi-byte sequence was valid.
 * Constant memory, so a file can be checked end to end before it is read for real.
 */
export class Utf8Check {
  #invalid = false;
  #multibyte = false;
  /** Continuation bytes still expected by the sequence in progress, and the bounds of the next. */
  #need = 0;
  #lower = 0x80;
  #upper = 0xbf;

  get invalid(): boolean {
    return this.#invalid;
  }

  get multibyte(): boolean {
    return this.#multibyte;
  }

  /** Whether more bytes can still change the verdict. */
  get settled(): boolean {
    return this.#multibyte;
  }

  feed(chunk: Buffer): void {
    // Between sequences ASCII changes nothing, and most exports are ASCII from end to end: a
    // native check instead of a loop over every byte of the file before the first row is read.
    if (this.#need === 0 && isAscii(chunk)) return;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (this.#need > 0) {
        if (byte >= this.#lower && byte <= this.#upper) {
          this.#lower = 0x80;
          this.#upper = 0xbf;
          if (--this.#need === 0) this.#multibyte = true;
          continue;
        }
        // The sequence broke off: that is one invalid spot, and this byte starts afresh.
        this.#invalid = true;
        this.#need = 0;
        this.#lower = 0x80;
        this.#upper = 0xbf;
      }
      if (byte < 0x80) continue;
      // The bounds are those of the WHATWG decoder: no overlong forms, surrogates or > U+10FFFF.
      if (byte >= 0xc2 && byte <= 0xdf) this.#need = 1;
      else if (byte >= 0xe0 && byte <= 0xef) {
        this.#need = 2;
        if (byte === 0xe0) this.#lower = 0xa0;
        if (byte === 0xed) this.#upper = 0x9f;
      } else if (byte >= 0xf0 && byte <= 0xf4) {
        this.#need = 3;
        if (byte === 0xf0) this.#lower = 0x90;
        if (byte === 0xf4) this.#upper = 0x8f;
      } else this.#invalid = true;
    }
  }

  /** The input ended: a sequence cut off by the end is invalid too. */
  end(): void {
    if (this.#need > 0) this.#invalid = true;
    this.#need = 0;
  }
}

/** The rule for a file without a BOM, given what Utf8Check saw. */
export function chooseWithoutBom(check: Utf8Check): EncodingChoice {
  return check.invalid && !check.multibyte ? { name: 'windows-1252', why: 'fallback' } : { name: 'utf-8', why: 'utf-8' };
}

/** Checks a whole byte stream (a file read ahead of the real read). */
export async function checkUtf8(source: AsyncIterable<Buffer | string>): Promise<Utf8Check> {
  const check = new Utf8Check();
  for await (const chunk of source) {
    check.feed(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    if (check.settled) break;
  }
  check.end();
  return check;
}

/**
 * A chunk-by-chunk converter to UTF-8 bytes (called with undefined at the end to flush a half
 * character). UTF-8 passes through untouched: csv-parse decodes it, and damaged bytes become
 * U+FFFD there, which csv.ts turns into failed rows. A BOM is dropped by the decoder.
 */
export function toUtf8(name: string): (chunk: Buffer | undefined) => Buffer {
  if (/^utf-?8$/i.test(name)) return (chunk) => chunk ?? Buffer.alloc(0);
  const decoder = iconv.getDecoder(name);
  return (chunk) => {
    const text = chunk === undefined ? (decoder.end() ?? '') : decoder.write(chunk);
    return Buffer.from(text, 'utf8');
  };
}

/**
 * For a source that can be read only once (stdin), where waiting to see the whole input first is
 * not possible: ASCII reads the same in UTF-8 and Windows-1252, so bytes pass through until the
 * first non-ASCII one, and that one decides: the start of a valid UTF-8 sequence means UTF-8,
 * anything else Windows-1252 from there on. `onChoice` hears the decision when it is made.
 */
export function lazyToUtf8(onChoice: (choice: EncodingChoice) => void): (chunk: Buffer | undefined) => Buffer {
  let convert: ((chunk: Buffer | undefined) => Buffer) | undefined;
  let held: Buffer = Buffer.alloc(0);
  const decide = (choice: EncodingChoice): void => {
    convert = toUtf8(choice.name);
    onChoice(choice);
  };
  return (chunk) => {
    if (convert) return convert(chunk);
    const bytes = held.length === 0 ? (chunk ?? Buffer.alloc(0)) : Buffer.concat([held, chunk ?? Buffer.alloc(0)]);
    held = Buffer.alloc(0);
    const first = bytes.findIndex((byte) => byte >= 0x80);
    if (first === -1) {
      if (chunk === undefined) decide({ name: 'utf-8', why: 'utf-8' });
      return bytes;
    }
    const check = new Utf8Check();
    const lead = bytes[first]!;
    const length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
    const sequence = bytes.subarray(first, first + length);
    check.feed(sequence);
    if (!check.invalid && !check.multibyte && chunk !== undefined) {
      // The sequence is cut by the end of this chunk: wait for the rest before deciding.
      held = bytes.subarray(first);
      return bytes.subarray(0, first);
    }
    decide(check.multibyte && !check.invalid ? { name: 'utf-8', why: 'utf-8' } : { name: 'windows-1252', why: 'fallback' });
    const rest = convert!(bytes.subarray(first));
    const tail = chunk === undefined ? convert!(undefined) : Buffer.alloc(0);
    return Buffer.concat([bytes.subarray(0, first), rest, tail]);
  };
}
