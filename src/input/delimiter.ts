// Delimiter detection. The header line decides: it is the one line we know the shape of, and
// reading it first costs nothing because its bytes are replayed to the parser afterwards (stdin
// cannot be rewound, so nothing read here may be lost).

import { StringDecoder } from 'node:string_decoder';
import { UsageError } from '../errors.js';

/** Delimiters detected from the header, in the order that breaks ties. */
export const DETECTED_DELIMITERS = [',', ';', '\t'] as const;

/** A header line longer than this is not a header; detection works on what was read by then. */
const MAX_PEEK_BYTES = 1024 * 1024;

export interface Peeked {
  /** Every chunk read so far, untouched, to be fed to the parser first. */
  chunks: Buffer[];
  /** The first line that is not blank, without BOM or line break; undefined if none. */
  firstLine: string | undefined;
}

/** The `--delimiter` value as a single character ("tab", a typed `\t`, "comma", "semicolon" and
 * "pipe" name theirs). The one rule for the option: the CLI and config file use it too. */
export function parseDelimiterOption(value: string, where = '--delimiter'): string {
  const named: Record<string, string> = { tab: '\t', '\\t': '\t', comma: ',', semicolon: ';', pipe: '|' };
  const delimiter = named[value.toLowerCase()] ?? value;
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\r' || delimiter === '\n') {
    throw new UsageError(`${where} expects one character other than a quote or line break (e.g. "," ";" "|" "tab"), got ${JSON.stringify(value)}`);
  }
  return delimiter;
}

/** The candidate seen most often outside quotes in the header line; a comma when none is. */
export function detectDelimiter(headerLine: string): string {
  const counts = new Map<string, number>(DETECTED_DELIMITERS.map((candidate) => [candidate, 0]));
  let quoted = false;
  for (const char of headerLine) {
    if (char === '"') quoted = !quoted;
    else if (!quoted && counts.has(char)) counts.set(char, counts.get(char)! + 1);
  }
  let best: string = ',';
  let bestCount = 0;
  for (const [candidate, count] of counts) {
    if (count > bestCount) [best, bestCount] = [candidate, count];
  }
  return best;
}

/**
 * Reads UTF-8 chunks (encoding.ts has converted them) until the first non-blank line is complete
 * (a line break outside quotes), the source ends, or MAX_PEEK_BYTES were read.
 */
export async function peekFirstLine(source: AsyncIterator<Buffer>): Promise<Peeked> {
  const chunks: Buffer[] = [];
  const decoder = new StringDecoder('utf8');
  let total = 0;
  let text = '';
  let scanned = 0;
  let lineStart = 0;
  let quoted = false;

  while (total < MAX_PEEK_BYTES) {
    const next = await source.next();
    if (next.done) {
      text += decoder.end();
    } else {
      chunks.push(next.value);
      total += next.value.length;
      text += decoder.write(next.value);
    }
    for (; scanned < text.length; scanned++) {
      const char = text[scanned];
      if (char === '"') quoted = !quoted;
      else if (!quoted && (char === '\n' || char === '\r')) {
        const line = clean(text.slice(lineStart, scanned));
        if (!isBlank(line)) return { chunks, firstLine: line };
        lineStart = scanned + 1;
      }
    }
    if (next.done) break;
  }
  const rest = clean(text.slice(lineStart));
  return { chunks, firstLine: isBlank(rest) ? undefined : rest };
}

/** Same idea as a blank record in csv.ts: nothing but spaces, delimiters and empty quotes. */
function isBlank(line: string): boolean {
  return /^[\s,;"]*$/.test(line);
}

function clean(line: string): string {
  return line.replace(/^\uFEFF/, '');
}
