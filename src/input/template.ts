// --user-template: a user id built from CSV columns, e.g. '@{email|localpart|lower}:example.org'.
// Everything that can be wrong with the template itself is found once, before the first row, as a
// usage error; a row can then only fail for its own data (an empty cell).

import { RowError, UsageError } from '../errors.js';
import { findColumn, listHeaders } from './columns.js';

type Filter = (value: string) => string;

// Letters NFKD does not take apart into a base letter and a mark, spelled as people type them.
const TRANSLITERATE: Record<string, string> = { ß: 'ss', æ: 'ae', œ: 'oe', ø: 'o', ł: 'l', đ: 'd', ð: 'd', þ: 'th', ı: 'i' };

const FILTERS: Record<string, Filter> = {
  lower: (value) => value.toLowerCase(),
  upper: (value) => value.toUpperCase(),
  trim: (value) => value.trim(),
  /** The part before the last "@"; a value without one is all local part. */
  localpart: (value) => (value.includes('@') ? value.slice(0, value.lastIndexOf('@')) : value),
  /** The part after the last "@"; empty (so the row fails) when there is none. */
  domain: (value) => (value.includes('@') ? value.slice(value.lastIndexOf('@') + 1) : ''),
  /**
   * Only what a Matrix localpart allows ([a-z0-9._=/-]): accents dropped ("José" → "jose"), any
   * other run of characters becomes one "-" ("Jane Doe" → "jane-doe").
   */
  slug: (value) =>
    value
      .toLowerCase()
      .replace(/[ßæœøłđðþı]/g, (letter) => TRANSLITERATE[letter] ?? letter)
      .normalize('NFKD')
      .replace(/\p{M}+/gu, '')
      .replace(/[^a-z0-9._=/-]+/g, '-')
      .replace(/^-+|-+$/g, ''),
};

interface Placeholder {
  /** As written between the braces, for messages. */
  text: string;
  column: string;
  filters: Filter[];
}

export function compileTemplate(template: string, headers: string[]): (fields: Record<string, string>) => string {
  const parts = parse(template, headers);
  if (!parts.some((part) => typeof part !== 'string')) {
    throw new UsageError(`--user-template ${JSON.stringify(template)} has no {column} placeholder, so every row would name the same user`);
  }
  return (fields) => {
    let id = '';
    for (const part of parts) {
      if (typeof part === 'string') {
        id += part;
        continue;
      }
      const cell = fields[part.column] ?? '';
      if (cell.trim() === '') throw new RowError('missing_value', `the ${part.column} cell is empty (needed by --user-template)`);
      const value = part.filters.reduce((current, filter) => filter(current), cell);
      if (value === '') {
        throw new RowError('missing_value', `{${part.text}} is empty for this row (${part.column} is ${JSON.stringify(cell)})`);
      }
      id += value;
    }
    return id;
  };
}

function parse(template: string, headers: readonly string[]): Array<string | Placeholder> {
  const parts: Array<string | Placeholder> = [];
  let literal = '';
  for (let i = 0; i < template.length; i++) {
    const char = template[i];
    const next = template[i + 1];
    if ((char === '{' && next === '{') || (char === '}' && next === '}')) {
      literal += char;
      i++;
    } else if (char === '}') {
      throw new UsageError(`--user-template ${JSON.stringify(template)}: a "}" with no "{" at position ${i + 1} (write "}}" for a literal brace)`);
    } else if (char === '{') {
      const end = template.indexOf('}', i + 1);
      if (end === -1) {
        throw new UsageError(`--user-template ${JSON.stringify(template)}: the "{" at position ${i + 1} is never closed (write "{{" for a literal brace)`);
      }
      if (literal !== '') parts.push(literal);
      literal = '';
      parts.push(placeholder(template, template.slice(i + 1, end), headers));
      i = end;
    } else {
      literal += char;
    }
  }
  if (literal !== '') parts.push(literal);
  return parts;
}

function placeholder(template: string, text: string, headers: readonly string[]): Placeholder {
  const [name = '', ...filterNames] = text.split('|').map((part) => part.trim());
  const where = `--user-template ${JSON.stringify(template)}`;
  if (name === '') throw new UsageError(`${where}: {${text}} names no column; the headers are ${listHeaders(headers)}`);
  const column = findColumn(headers, name);
  if (column === undefined) {
    throw new UsageError(`${where}: no column "${name}"; the headers are ${listHeaders(headers)}`);
  }
  const filters = filterNames.map((filterName) => {
    const filter = Object.hasOwn(FILTERS, filterName) ? FILTERS[filterName] : undefined;
    if (filter === undefined) {
      throw new UsageError(`${where}: unknown filter "${filterName}" in {${text}}; the filters are ${Object.keys(FILTERS).join(', ')}`);
    }
    return filter;
  });
  return { text, column, filters };
}
