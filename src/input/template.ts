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

/**
 * `option` names the flag in messages: the same language serves --user-template,
 * --image-template and --file-name.
 */
export function compileTemplate(template: string, headers: readonly string[], option = '--user-template'): (fields: Record<string, string>) => string {
  const parts = parse(template, headers, option);
  if (!parts.some((part) => typeof part !== 'string')) {
    const what = option === '--user-template' ? 'every row would name the same user' : 'every row would get the same value';
    throw new UsageError(`${option} ${JSON.stringify(template)} has no {column} placeholder, so ${what}`);
  }
  return (fields) => {
    let id = '';
    for (const part of parts) {
      if (typeof part === 'string') {
        id += part;
        continue;
      }
      const cell = fields[part.column] ?? '';
      if (cell.trim() === '') throw new RowError('missing_value', `the ${part.column} cell is empty (needed by ${option})`);
      const value = part.filters.reduce((current, filter) => filter(current), cell);
      if (value === '') {
        throw new RowError('missing_value', `{${part.text}} is empty for this row (${part.column} is ${JSON.stringify(cell)})`);
      }
      id += value;
    }
    return id;
  };
}

function parse(template: string, headers: readonly string[], option: string): Array<string | Placeholder> {
  const parts: Array<string | Placeholder> = [];
  let literal = '';
  for (let i = 0; i < template.length; i++) {
    const char = template[i];
    const next = template[i + 1];
    if ((char === '{' && next === '{') || (char === '}' && next === '}')) {
      literal += char;
      i++;
    } else if (char === '}') {
      throw new UsageError(`${option} ${JSON.stringify(template)}: a "}" with no "{" at position ${i + 1} (write "}}" for a literal brace)`);
    } else if (char === '{') {
      const end = template.indexOf('}', i + 1);
      if (end === -1) {
        throw new UsageError(`${option} ${JSON.stringify(template)}: the "{" at position ${i + 1} is never closed (write "{{" for a literal brace)`);
      }
      if (literal !== '') parts.push(literal);
      literal = '';
      parts.push(placeholder(template, template.slice(i + 1, end), headers, option));
      i = end;
    } else {
      literal += char;
    }
  }
  if (literal !== '') parts.push(literal);
  return parts;
}

/** The column names a template's placeholders use, as written (for checking them all at once). */
export function templateColumns(template: string): string[] {
  const names: string[] = [];
  const pattern = /\{\{|\}\}|\{([^}]*)\}/g;
  for (let match = pattern.exec(template); match; match = pattern.exec(template)) {
    const name = match[1]?.split('|')[0]?.trim();
    if (name) names.push(name);
  }
  return names;
}

function placeholder(template: string, text: string, headers: readonly string[], option: string): Placeholder {
  const [name = '', ...filterNames] = text.split('|').map((part) => part.trim());
  const where = `${option} ${JSON.stringify(template)}`;
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
