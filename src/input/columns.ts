// Which CSV column holds what. HR exports spell the same header many ways ("User ID", "user-id",
// "USER_ID"), so every lookup by name — --id-column, --image-column, detection and
// --user-template placeholders — goes through findColumn and means the same thing everywhere.

import { capText } from '../capped-text.js';
import { UsageError } from '../errors.js';
import { templateColumns } from './template.js';

/** E-mail headers (as keys): also the ones a target that matches users by e-mail looks at first. */
const EMAIL_CANDIDATES = ['email', 'e-mail', 'mail', 'work email', 'email address'] as const;
/** Detected id headers, best first: an explicit user id beats a login name beats an e-mail beats
 * an HR number (the directories this tool feeds rarely know the latter). */
export const ID_CANDIDATES = [
  'user_id', 'id', 'username', 'login', 'uid', ...EMAIL_CANDIDATES, 'upn', 'employee id', 'worker id',
] as const;
/** Detected image headers, best first. */
export const IMAGE_CANDIDATES = [
  'image', 'photo', 'picture', 'avatar', 'path', 'file', 'photo file name', 'photo url', 'photourl', 'image url', 'picture url', 'foto', 'bild',
] as const;

/** The spelling-insensitive key two header names share when they mean the same column. */
export function columnKey(name: string): string {
  // "Work E-mail", "work_email" and "WorkEmail." are one column to a person reading the header.
  return name.normalize('NFC').toLowerCase().replace(/[\s_.-]+/g, '');
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

export interface ColumnOptions {
  idColumn?: string;
  imageColumn?: string;
  /** Builds the user from columns: no id column is then needed. */
  userTemplate?: string;
  /** Builds the image path from columns: no image column is then needed. */
  imageTemplate?: string;
  /** The target matches users by e-mail (zulip, authgear --match-by email): detection takes an
   * e-mail column over a bare id. */
  preferEmail?: boolean;
}

export interface ChosenColumns {
  /** Undefined when --user-template builds the user. */
  id?: string;
  /** Undefined when --image-template builds the image path. */
  image?: string;
  /** Every header the run reads (for ragged rows: these must be present). */
  used: string[];
  /** For the first output line: which columns were chosen, and how. */
  description: string;
}

/**
 * Which columns the run reads. Everything missing — an id or image column that is neither given
 * nor detected, a named column or template placeholder that is not in the header — is reported
 * in one usage error with the headers found, so one look at the message fixes the command.
 */
export function chooseColumns(headers: readonly string[], options: ColumnOptions): ChosenColumns {
  const missing: string[] = [];
  const take = (name: string, what: string): string | undefined => {
    const found = findColumn(headers, name);
    if (found === undefined) missing.push(`${what} names no column "${name}"`);
    return found;
  };

  let id: string | undefined;
  const templated: string[] = [];
  if (options.userTemplate !== undefined) {
    for (const name of templateColumns(options.userTemplate)) {
      const found = take(name, `--user-template {${name}}`);
      if (found !== undefined) templated.push(found);
    }
  } else if (options.idColumn !== undefined) {
    id = take(options.idColumn, '--id-column');
  } else {
    const candidates = options.preferEmail ? [...EMAIL_CANDIDATES, ...ID_CANDIDATES.filter((c) => !(EMAIL_CANDIDATES as readonly string[]).includes(c))] : ID_CANDIDATES;
    id = detect(headers, candidates, [], 'id');
    if (id === undefined) missing.push(`no id column (looked for ${candidates.join(', ')}; or give --id-column or --user-template)`);
  }

  let image: string | undefined;
  if (options.imageTemplate !== undefined) {
    for (const name of templateColumns(options.imageTemplate)) {
      const found = take(name, `--image-template {${name}}`);
      if (found !== undefined) templated.push(found);
    }
  } else if (options.imageColumn !== undefined) {
    image = take(options.imageColumn, '--image-column');
  } else {
    image = detect(headers, IMAGE_CANDIDATES, id === undefined ? [] : [id], 'image');
    if (image === undefined) missing.push(`no image column (looked for ${IMAGE_CANDIDATES.join(', ')}; or give --image-column or --image-template)`);
  }

  if (missing.length > 0) {
    throw new UsageError(`columns missing: ${missing.join('; ')}. The headers found are ${listHeaders(headers)} (names match in any case, ignoring spaces, "_", "-" and ".")`);
  }
  if (id !== undefined && id === image) {
    throw new UsageError(`the id column and the image column are both "${id}"; choose different columns with --id-column and --image-column`);
  }
  const user = options.userTemplate !== undefined
    ? `user from --user-template ${JSON.stringify(options.userTemplate)}`
    : `id ${JSON.stringify(id)}${options.preferEmail && options.idColumn === undefined ? ' (the target matches users by e-mail)' : ''}`;
  const picture = options.imageTemplate !== undefined ? `image from --image-template ${JSON.stringify(options.imageTemplate)}` : `image ${JSON.stringify(image)}`;
  return {
    ...(id === undefined ? {} : { id }),
    ...(image === undefined ? {} : { image }),
    used: [...new Set([...(id === undefined ? [] : [id]), ...(image === undefined ? [] : [image]), ...templated])],
    description: `columns: ${user}, ${picture}`,
  };
}

/** The id and image columns, both required (no templates). */
export function pickColumns(
  headers: string[],
  options: { idColumn?: string; imageColumn?: string; preferEmail?: boolean },
): { id: string; image: string } {
  const chosen = chooseColumns(headers, options);
  return { id: chosen.id!, image: chosen.image! };
}

function detect(
  headers: readonly string[],
  candidates: readonly string[],
  taken: readonly string[],
  role: string,
): string | undefined {
  const free = headers.filter((header) => header !== '' && !taken.includes(header));
  for (const candidate of candidates) {
    const key = columnKey(candidate);
    const matches = free.filter((header) => columnKey(header) === key);
    if (matches.length > 1) {
      throw new UsageError(`more than one column could be the ${role} column (${listHeaders(matches)}); choose one with --${role}-column`);
    }
    if (matches.length === 1) return matches[0];
  }
  return undefined;
}

/** Refuses a header that names a column twice: a lookup by name could not tell them apart. */
export function checkDuplicateHeaders(headers: readonly string[]): void {
  const seen = new Map<string, string>();
  const duplicates: string[] = [];
  for (const header of headers) {
    if (header === '') continue;
    // Case-insensitive because every lookup by name is (columns.ts): "Email" and "email" could
    // not be told apart by --id-column or a template.
    const key = header.toLowerCase();
    const earlier = seen.get(key);
    if (earlier !== undefined) duplicates.push(earlier === header ? header : `${earlier}/${header}`);
    else seen.set(key, header);
  }
  if (duplicates.length > 0) {
    throw new UsageError(`the CSV header names a column more than once: ${listHeaders(duplicates)}; the headers are ${listHeaders(headers)}`);
  }
}

