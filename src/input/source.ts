// Where a row's image comes from: a file under --images-dir or an allowed http(s) URL. locate()
// decides and refuses cheaply, before anything is read; readSource() reads, re-checking what may
// have changed in between.

import { lstatSync, realpathSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { capText } from '../capped-text.js';
import { RowError } from '../errors.js';
import { stripUrlSecrets } from '../url-secrets.js';
import { checkUrl, displayUrl } from './hosts.js';
import { cellPath, FileFinder } from './find-file.js';
import type { UrlAuth } from './url-auth.js';
import { fileError, isInside, realpathAsFarAsExists } from './paths.js';
import { blockingIoOf, notAFile, readLocatedFile, tooLarge } from './read-file.js';
import type { ReadBuffers } from '../util/read-buffers.js';
import { prefetched, type FileStat } from '../util/stats-ahead.js';

export type SourceRef =
  /** path: the real path (symlinks resolved), inside imagesDir; display: the cell as written. */
  | { kind: 'file'; path: string; display: string; fingerprint?: Fingerprint }
  /** display: the URL without credentials or query, fit for logs and the ledger. */
  | { kind: 'url'; url: URL; display: string };

/** The cheap identity of a file (like rclone's size + mtime), plus where it lives. */
export interface Fingerprint {
  size: number;
  mtimeMs: number;
  dev: number;
  ino: number;
}

export interface SourceOptions {
  imagesDir: string;
  /** --follow-symlinks: links inside imagesDir may point outside it (checked against allowPaths). */
  followSymlinks?: boolean;
  /** --allow-path: with followSymlinks, the roots a link's target must be under (none: anywhere). */
  allowPaths?: readonly string[];
  /** Hears what was done leniently (a file found by ignoring case). */
  warn?: (message: string) => void;
  /** `host` (any port) or `host:port`, case-insensitive. */
  allowHosts: readonly string[];
  /** For a whole URL fetch, redirects included. */
  timeoutMs: number;
  maxSourceBytes: number;
  /** --url-auth credentials (url-auth.ts). */
  urlAuth?: readonly UrlAuth[];
}

export async function locate(cell: string, options: SourceOptions): Promise<SourceRef> {
  const text = cell.trim();
  if (text === '') throw new RowError('missing_value', 'the image cell is empty');
  return looksLikeUrl(text) ? locateUrl(text, options) : locateFile(text, options);
}

/**
 * A scheme of two letters or more: "C:\photos\a.jpg" is a (Windows-style) path, and so is
 * "jane:doe.jpg" unless a URL-looking "//" or a well-known scheme says otherwise.
 */
function looksLikeUrl(text: string): boolean {
  return /^[a-z][a-z0-9+.-]+:\/\//i.test(text) || /^(https?|ftp|file|data|blob|javascript|mailto):/i.test(text);
}

function locateUrl(text: string, options: SourceOptions): SourceRef {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // Unparsed, so displayUrl cannot help: the text itself loses what may be secret.
    throw new RowError('url_not_allowed', `${JSON.stringify(capText(stripUrlSecrets(text)))} is not a valid URL`);
  }
  checkUrl(url, options.allowHosts, `${displayUrl(url)}: `);
  return { kind: 'url', url, display: displayUrl(url) };
}

// Per run (one options object per run), not per row: a nightly run of 100 000 unchanged rows is
// nothing but such small calls.
interface RunState {
  /** The images folder's real path. */
  realBase: Promise<string>;
  /** The same, once known (for locateNow). */
  realBaseNow?: string;
  /** resolve(imagesDir). */
  base: string;
  /** The --allow-path roots' real paths. */
  allowed: Promise<string[]>;
  finder: FileFinder;
  /** What aheadPath found for the cells of rows read ahead: cell → the path quickPath gave. */
  ahead: Map<string, string>;
}
const runs = new WeakMap<SourceOptions, RunState>();

function stateOf(options: SourceOptions): RunState {
  let state = runs.get(options);
  if (!state) {
    const realBase = realpath(resolve(options.imagesDir));
    const allowed = Promise.all((options.allowPaths ?? []).map((root) => realpath(resolve(root)).catch(() => resolve(root))));
    const made: RunState = { realBase, base: resolve(options.imagesDir), allowed, finder: new FileFinder(), ahead: new Map() };
    // A folder that is missing now may exist on the next row's try.
    realBase.then((real) => (made.realBaseNow = real), () => runs.delete(options));
    runs.set(options, (state = made));
  }
  return state;
}

/**
 * locate() without a promise, for the common case only: a cell naming a regular file (not a link)
 * inside the images folder, once the folder's real path is known. Undefined for anything else (a
 * URL, a missing file, a link, a refusal, the run's first rows): locate() then decides, and
 * explains itself. A nightly run of unchanged rows asks this for every row.
 */
export function locateNow(cell: string, options: SourceOptions): SourceRef | undefined {
  const quick = quickCell(cell, options);
  if (quick === undefined) return undefined;
  const { text, state, realBase } = quick;
  // A cell read ahead (aheadPath) is not resolved twice.
  const real = state.ahead.get(cell);
  const fast = real === undefined ? quickLocate(resolve(state.base, cellPath(text)), realBase, options) : statReal(real);
  if (!fast || !fast.isFile() || fast.size > options.maxSourceBytes) return undefined;
  const { size, mtimeMs, dev, ino } = fast;
  return { kind: 'file', path: fast.real, display: text, fingerprint: { size, mtimeMs, dev, ino } };
}

async function locateFile(text: string, options: SourceOptions): Promise<SourceRef> {
  const state = stateOf(options);
  const base = state.base;
  let realBase: string;
  try {
    realBase = await state.realBase;
  } catch (error) {
    throw fileError(error, `the images folder ${base}`);
  }
  const lexical = resolve(base, cellPath(text));
  const fast = quickLocate(lexical, realBase, options);
  if (fast) {
    if (!fast.isFile()) throw notAFile(text, fast);
    if (fast.size > options.maxSourceBytes) throw tooLarge(text, fast.size, options.maxSourceBytes);
    const { size, mtimeMs, dev, ino } = fast;
    return { kind: 'file', path: fast.real, display: text, fingerprint: { size, mtimeMs, dev, ino } };
  }
  let found: { real: string; exists: boolean };
  let warning: string | undefined;
  try {
    const located = await state.finder.find(base, lexical);
    warning = located?.warning;
    found = await realpathAsFarAsExists(located?.path ?? lexical);
  } catch (error) {
    throw fileError(error, text);
  }
  // Outside is decided before existence, so nothing is said about files outside the folder.
  if (!options.followSymlinks) {
    if (!isInside(realBase, found.real)) {
      throw new RowError('path_outside_images_dir', `${text} resolves to ${found.real}, outside the images folder ${realBase}`);
    }
  } else {
    // Links may lead out, but the path as written must stay in: "../" is never followed.
    if (!isInside(base, lexical) && !isInside(realBase, lexical)) {
      throw new RowError('path_outside_images_dir', `${text} is outside the images folder ${realBase}`);
    }
    const allowed = await state.allowed;
    if (allowed.length > 0 && !isInside(realBase, found.real) && !allowed.some((root) => isInside(root, found.real))) {
      throw new RowError('path_outside_images_dir', `${text} links to ${found.real}, outside the images folder and every --allow-path (${allowed.join(', ')})`);
    }
  }
  if (!found.exists) throw new RowError('file_not_found', `${text} does not exist (looked for ${found.real})`);
  let info;
  try {
    info = await stat(found.real);
  } catch (error) {
    throw fileError(error, text);
  }
  if (!info.isFile()) throw notAFile(text, info);
  if (info.size > options.maxSourceBytes) throw tooLarge(text, info.size, options.maxSourceBytes);
  if (warning) options.warn?.(`${text}: ${warning}`);
  const { size, mtimeMs, dev, ino } = info;
  return { kind: 'file', path: found.real, display: text, fingerprint: { size, mtimeMs, dev, ino } };
}

// Real paths of the folders photos sit in, per run: a nightly run of 100 000 unchanged rows spent
// most of its time resolving the same few folders again for every row.
const realFolders = new WeakMap<SourceOptions, Map<string, RealFolder | null>>();
const MAX_FOLDERS = 10_000;
/** A folder's real path, and whether it is inside the images folder (then so is every file in it). */
interface RealFolder {
  readonly real: string;
  readonly inside: boolean;
}

/**
 * The common case in one synchronous lstat: the folder's real path from the per-run cache, and the
 * file itself a regular file (not a link) inside the images folder. Anything else (missing, a
 * link, outside, an error) returns undefined and takes the careful path above, which explains
 * itself. The cache cannot widen what is read: readSource() resolves the path again before reading.
 */
function quickLocate(path: string, realBase: string, options: SourceOptions): (FileStat & { real: string }) | undefined {
  const real = quickPath(path, realBase, options);
  return real === undefined ? undefined : statReal(real);
}

/** quickLocate's stat of the path quickPath gave. */
function statReal(real: string): (FileStat & { real: string }) | undefined {
  // Stat-ed ahead in another thread while earlier rows were decided, when the pipeline could.
  let info: FileStat | null | undefined = prefetched(real, false);
  if (info === undefined) {
    try {
      info = lstatSync(real, { throwIfNoEntry: false });
    } catch {
      return undefined;
    }
  }
  if (!info || info.isSymbolicLink()) return undefined;
  return Object.assign(info, { real });
}

/** The path quickLocate stats for `path` (resolved): in a folder whose real path is known and
 * inside the images folder; undefined when that is not the case. */
function quickPath(path: string, realBase: string, options: SourceOptions): string | undefined {
  let folders = realFolders.get(options);
  if (!folders) realFolders.set(options, (folders = new Map()));
  const folder = dirname(path);
  let realFolder = folders.get(folder);
  if (realFolder === undefined) {
    try {
      const real = realpathSync(folder);
      realFolder = { real, inside: isInside(realBase, real) };
    } catch {
      realFolder = null;
    }
    if (folders.size >= MAX_FOLDERS) folders.clear();
    folders.set(folder, realFolder);
  }
  if (realFolder === null) return undefined;
  const real = join(realFolder.real, basename(path));
  // A name in a folder inside is inside (`path` is resolved: its last part is never ".."); a folder
  // outside may still hold the images folder itself, so that case is checked in full.
  if (!realFolder.inside && !isInside(realBase, real)) return undefined;
  return real;
}

/** The cell as locateNow() reads it and the run's state, when the quick path can answer: a file
 * name (not a URL), once the images folder's real path is known. */
function quickCell(cell: string, options: SourceOptions): { text: string; state: RunState; realBase: string } | undefined {
  const text = cell.trim();
  if (text === '' || looksLikeUrl(text)) return undefined;
  const state = runs.get(options);
  if (state?.realBaseNow === undefined) return undefined;
  return { text, state, realBase: state.realBaseNow };
}

/** The file locateNow() would stat for this image cell, so that it can be stat-ed ahead of time
 * (util/stats-ahead.ts); undefined where locateNow() would not answer. */
export function aheadPath(cell: string, options: SourceOptions): string | undefined {
  const quick = quickCell(cell, options);
  if (quick === undefined) return undefined;
  const { text, state, realBase } = quick;
  const real = quickPath(resolve(state.base, cellPath(text)), realBase, options);
  if (real !== undefined) {
    if (state.ahead.size >= MAX_AHEAD_CELLS) state.ahead.clear();
    state.ahead.set(cell, real);
  }
  return real;
}

/** Rows are read at most 64 ahead (pipeline/look-ahead.ts): room to spare. */
const MAX_AHEAD_CELLS = 4096;

/** The cheap fingerprint (like rclone's size + mtime) for deciding whether a file changed;
 * locate() already took it, so this costs nothing more for a ref it made. */
export async function statSource(ref: SourceRef): Promise<Fingerprint | undefined> {
  if (ref.kind === 'url') return undefined;
  if (ref.fingerprint) return ref.fingerprint;
  try {
    const { size, mtimeMs, dev, ino } = await stat(ref.path);
    return { size, mtimeMs, dev, ino };
  } catch (error) {
    throw fileError(error, ref.display);
  }
}

/**
 * The source's bytes. A file is read into a buffer from `buffers` when given (the caller gives it
 * back once done with it; see util/read-buffers.ts); a download is its own buffer.
 */
export async function readSource(ref: SourceRef, options: SourceOptions, signal?: AbortSignal, buffers?: ReadBuffers): Promise<Buffer> {
  signal?.throwIfAborted();
  if (ref.kind === 'url') {
    // Checked again: the ref may come from a run whose --allow-host list was different.
    checkUrl(ref.url, options.allowHosts, `${ref.display}: `);
    // The HTTP client (got) loads with the first URL source, not at every start-up.
    const { fetchImage } = await import('./fetch.js');
    return fetchImage(ref.url, {
      allowHosts: options.allowHosts, timeoutMs: options.timeoutMs, maxBytes: options.maxSourceBytes,
      ...(options.urlAuth ? { auth: options.urlAuth } : {}),
    }, signal);
  }
  return readLocatedFile(ref, options.maxSourceBytes, blockingIoOf(options), signal, buffers);
}
