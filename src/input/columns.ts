// Which CSV column holds what. HR exports spell the same header many ways ("User ID", "user-id",
// "USER_ID"), so every lookup by name — --id-column, --image-column, detection and
// --user-template placeholders — goes through findColumn and means the same thing everywhere.

import { capText } from '../capped-text.js';
import { UsageError } from '../errors.js';

/** Detected id headers, best first: an explicit user id beats a login name beats an e-mail. */
export const ID_CANDIDATES = ['user_id', 'id', 'username', 'email', 'login', 'uid'] as const;
/** Detected image headers, best first. */
export const IMAGE_CANDIDATES = ['image', 'photo', 'picture', 'avatar', 'path', 'file'] as const;

/** The spelling-insensitive key two header names share when they mean the same column. */
export function columnKey(name: string): string {
  return name.trim().toLowerCase().replace(/[\s_-]+/g, '_');
}

/**
 * The header `name` refers to: an exact match wins, so a file that really has both "email" and
 * "Email" can still be addressed; otherwise the spelling-insensitive match, which must be unique
 * because picking one of two silently would read the wrong column for every row.
 * Returns undefined when nothing matches.
 */
export function findColumn(headers: readonly string[], name: string): string | undefined {
  const wanted = name.trim();
  if (wanted === '') return undefined;
  if (headers.includes(wanted)) return wanted;
  const key = columnKey(wanted);
  const matches = headers.filter((header) => header !== '' && columnKey(header) === key);
  if (matches.length > 1) {
    throw new UsageError(`column "${name}" is ambiguous: it could be ${listHeaders(matches)}; give the exact header`);
  }
  return matches[0];
}

/** Headers as users should read them in a message: quoted, so empty or spaced names stay visible. */
/** Headers as a message lists them: a header line that is really data (a huge field, a file in
 * another encoding) must not turn one message into megabytes. */
export function listHeaders(headers: readonly string[]): string {
  if (headers.length === 0) return '(none)';
  const shown = headers.slice(0, MAX_LISTED).map((header) => JSON.stringify(capText(header, 80))).join(', ');
  return headers.length > MAX_LISTED ? `${shown} … and ${headers.length - MAX_LISTED} more` : shown;
}

const MAX_LISTED = 40;

export function pickColumns(
  headers: string[],
  options: { idColumn?: string; imageColumn?: string },
): { id: string; image: string } {
  const id = options.idColumn !== undefined
    ? explicit(headers, options.idColumn, '--id-column')
    : detect(headers, ID_CANDIDATES, [], 'id', '--id-column');
  const image = options.imageColumn !== undefined
    ? explicit(headers, options.imageColumn, '--image-column')
    : detect(headers, IMAGE_CANDIDATES, [id], 'image', '--image-column');
  if (id === image) {
    throw new UsageError(`the id column and the image column are both "${id}"; choose different columns with --id-column and --image-column`);
  }
  return { id, image };
}

function explicit(headers: readonly string[], name: string, option: string): string {
  const found = findColumn(headers, name);
  if (found === undefined) {
    throw new UsageError(`${option} "${name}": the CSV has no such column; the headers found are ${listHeaders(headers)}`);
  }
  return found;
}

function detect(
  headers: readonly string[],
  candidates: readonly string[],
  taken: readonly string[],
  role: string,
  option: string,
): string {
  const free = headers.filter((header) => header !== '' && !taken.includes(header));
  for (const candidate of candidates) {
    const matches = free.filter((header) => columnKey(header) === candidate);
    if (matches.length > 1) {
      throw new UsageError(`more than one column could be the ${role} column (${listHeaders(matches)}); choose one with ${option}`);
    }
    if (matches.length === 1) return matches[0];
  }
  throw new UsageError(
    `no ${role} column found: looked for ${candidates.join(', ')} (any case, spaces or hyphens for underscores); ` +
      `the headers found are ${listHeaders(headers)}; choose one with ${option}`,
  );
}
