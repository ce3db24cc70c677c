// What the raw text of a record (csv-parse's `raw` option) tells us that csv-parse does not:
// where the record starts, and whether its quoting was valid. The raw text of a record holds the
// blank lines skipped just before it and ends with (at least the first character of) its line
// break, so summing line breaks over raw texts walks the file line by line.

/** Line breaks in `text`: CRLF, LF and a lone CR each count once, as editors number lines. */
export function countLineBreaks(text: string): number {
  let breaks = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (char === 0x0a) breaks++;
    else if (char === 0x0d) {
      breaks++;
      if (text.charCodeAt(i + 1) === 0x0a) i++;
    }
  }
  return breaks;
}

/** The blank lines in front of a record's raw text: how many, and where the record itself starts. */
export function leadingBlankLines(raw: string): { lines: number; offset: number } {
  let offset = 0;
  while (offset < raw.length && (raw[offset] === '\n' || raw[offset] === '\r')) offset++;
  return { lines: countLineBreaks(raw.slice(0, offset)), offset };
}

/** What csv-parse's ltrim skips at the start of a field (line breaks end the record first). */
const BLANKS = new Set([' ', '\t', '\f']);

export interface QuotingProblem {
  /** 0-based index of the field where the quoting breaks. */
  field: number;
  reason: string;
}

/**
 * Checks one record's quoting strictly (RFC 4180): a quote may only open a field, a closing quote
 * must be followed by the delimiter or the end of the record, and quotes inside a quoted field are
 * doubled. csv-parse runs with `relax_quotes` so that a bad quote cannot swallow the lines after
 * it; this check turns the record it relaxed into a malformed one instead of a silently wrong
 * value.
 */
export function quotingProblem(raw: string, delimiter: string, start = 0): QuotingProblem | undefined {
  let field = 0;
  let i = start;
  while (i < raw.length) {
    // Blanks before an opening quote are allowed, as csv-parse's ltrim allows them.
    let opening = i;
    while (opening < raw.length && raw[opening] !== delimiter && BLANKS.has(raw[opening]!)) opening++;
    if (raw[opening] === '"') {
      i = opening + 1;
      for (;;) {
        const quote = raw.indexOf('"', i);
        if (quote === -1) return { field, reason: 'a quoted field is not closed' };
        if (raw[quote + 1] === '"') {
          i = quote + 2;
          continue;
        }
        i = quote + 1;
        break;
      }
      if (i >= raw.length || raw[i] === '\r' || raw[i] === '\n') return undefined;
      if (raw[i] !== delimiter) {
        return { field, reason: 'text follows the closing quote (a quote inside a value must be doubled: "")' };
      }
    } else {
      for (; i < raw.length && raw[i] !== delimiter; i++) {
        const char = raw[i];
        if (char === '\r' || char === '\n') return undefined;
        if (char === '"') {
          return { field, reason: 'a quote inside an unquoted value (quote the whole value and double the quote: "")' };
        }
      }
      if (i >= raw.length) return undefined;
    }
    i++; // past the delimiter
    field++;
  }
  return undefined;
}
