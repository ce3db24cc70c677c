// --credentials: per-user API keys the users (or their admins) handed over, either as a CSV of
// email,api_key or as a folder of the zuliprc files Zulip lets each user download. Read once,
// before anything is sent; each key is registered as a secret as it is read.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { UsageError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { normaliseSite, parseZuliprc } from './zuliprc.js';

export interface UserKey {
  /** The email as the file gave it. */
  readonly email: string;
  readonly key: string;
  /** Where it came from, for messages ("keys.csv line 4", "zuliprcs/ana.zuliprc"). */
  readonly from: string;
}

/** Keys by lowercased email (Zulip compares emails case-insensitively). */
export type KeyMap = ReadonlyMap<string, UserKey>;

export async function readCredentials(path: string, site: string, log: Logger): Promise<KeyMap> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`--credentials ${path}: cannot be read (${error.code ?? String(error)})`);
  });
  warnIfShared(path, info.mode, log);
  const keys = info.isDirectory() ? await fromFolder(path, site, log) : await fromCsv(path);
  if (keys.length === 0) throw new UsageError(`--credentials ${path}: no email and API key found`);
  const map = new Map<string, UserKey>();
  const owners = new Map<string, string>();
  for (const entry of keys) {
    log.addSecret(entry.key);
    const id = entry.email.toLowerCase();
    const earlier = map.get(id);
    if (earlier && earlier.key !== entry.key) {
      throw new UsageError(`--credentials: ${entry.email} has two different keys (${earlier.from} and ${entry.from}); keep one`);
    }
    const owner = owners.get(entry.key);
    if (owner !== undefined && owner !== id) {
      // A key belongs to exactly one account: at most one of these rows can work. Each row is
      // checked against the server before its first upload, so this is only a warning.
      log.warn(`--credentials: ${entry.from} gives ${entry.email} the same key as ${owner}; Zulip will refuse it for one of them`);
    }
    owners.set(entry.key, id);
    map.set(id, entry);
  }
  return map;
}

async function fromCsv(path: string): Promise<UserKey[]> {
  let records: string[][];
  try {
    records = parse(await readFile(path, 'utf8'), { bom: true, comment: '#', skip_empty_lines: true, trim: true, relax_column_count: true }) as string[][];
  } catch (error) {
    throw new UsageError(`--credentials ${path}: not a CSV of email,api_key (${(error as Error).message})`);
  }
  let emailAt = 0;
  let keyAt = 1;
  let first = 0;
  const header = records[0]?.map((cell) => cell.toLowerCase());
  if (header && !header.some((cell) => cell.includes('@'))) {
    emailAt = header.indexOf('email');
    keyAt = header.findIndex((cell) => cell === 'api_key' || cell === 'key' || cell === 'apikey');
    if (emailAt < 0 || keyAt < 0) {
      throw new UsageError(`--credentials ${path}: the header names no email and api_key columns (got: ${records[0]!.join(', ')})`);
    }
    first = 1;
  }
  const out: UserKey[] = [];
  for (let i = first; i < records.length; i++) {
    const record = records[i]!;
    const email = record[emailAt] ?? '';
    const key = record[keyAt] ?? '';
    const from = `${path} record ${i + 1}`;
    if (!email.includes('@') || !key) throw new UsageError(`--credentials ${from}: expected an email and an API key`);
    out.push({ email, key, from });
  }
  return out;
}

async function fromFolder(path: string, site: string, log: Logger): Promise<UserKey[]> {
  const out: UserKey[] = [];
  for (const entry of (await readdir(path, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!entry.isFile() || entry.name.startsWith('.')) continue;
    const file = join(path, entry.name);
    const rc = parseZuliprc(await readFile(file, 'utf8'));
    if (!rc?.email || !rc.key) {
      log.warn(`--credentials: ${file} is not a zuliprc with [api] email and key; skipped`);
      continue;
    }
    if (rc.site !== undefined) {
      const its = normaliseSite(rc.site);
      if (typeof its !== 'string' || its !== site) {
        log.addSecret(rc.key);
        log.warn(`--credentials: ${file} is for ${rc.site}, not ${site}; skipped`);
        continue;
      }
    }
    out.push({ email: rc.email, key: rc.key, from: file });
  }
  return out;
}

/** Like ssh: key material readable by others deserves a word, not a refusal. */
export function warnIfShared(path: string, mode: number, log: Logger): void {
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    log.warn(`${path} can be read by other users (mode ${(mode & 0o777).toString(8)}); it holds API keys: chmod go-rwx it`);
  }
}
