// Finding the file a cell names the way a person would: HR cells are typed on Windows
// (`2024\Q3\jdoe.jpg`), photo folders are copied from Macs (names in decomposed Unicode, NFD,
// where the CSV has them composed, NFC, or the reverse) and cameras write `IMG_4021.JPG` where
// someone typed `IMG_4021.jpg`. The exact path is tried first and costs one stat; the lenient
// matches only run for a path that does not exist as written, and only ever pick entries of
// folders below the images folder, so they cannot reach anything the exact path could not
// (source.ts checks the result against --images-dir like any other path).

import { opendir, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { Lru } from '../util/lru.js';

/** A cell as a relative path with "/" separators: Windows "\" separators become "/". */
export function cellPath(cell: string): string {
  return cell.trim().replace(/\\/g, '/');
}

export interface Found {
  /** The path to use (not yet resolved through symlinks). */
  path: string;
  /** Set when the file was found only by ignoring case: said to the user. */
  warning?: string;
}

/** Directory listings by folder, keyed by the case- and normalisation-free name (see `key`). */
type Listing = Map<string, string[]>;

/** One per run: listings of the few folders where a name was not found as written. */
export class FileFinder {
  readonly #listings = new Lru<string, Promise<Listing | undefined>>(16);

  /**
   * `lexical` is the path as written, resolved against `base`. Returns it unchanged when it exists
   * (or when it is not below `base`: that is for the caller to refuse), else the single entry that
   * matches ignoring Unicode normalisation and then case, or undefined.
   */
  async find(base: string, lexical: string): Promise<Found | undefined> {
    if (await exists(lexical)) return { path: lexical };
    const rel = relative(base, lexical);
    if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || resolve(base, rel) !== lexical) return undefined;
    for (const form of ['NFC', 'NFD'] as const) {
      const variant = join(base, rel.normalize(form));
      if (variant !== lexical && (await exists(variant))) return { path: variant };
    }
    // Segment by segment, so a folder typed in another case is found too.
    let path = base;
    let folded = false;
    for (const segment of rel.split(sep)) {
      const exact = join(path, segment);
      if (await exists(exact)) {
        path = exact;
        continue;
      }
      const listing = await this.#list(path);
      const candidates = listing?.get(key(segment)) ?? [];
      if (candidates.length !== 1) return undefined;
      const name = candidates[0]!;
      if (name.normalize('NFC') !== segment.normalize('NFC')) folded = true;
      path = join(path, name);
    }
    if (!folded) return { path };
    return { path, warning: `${relative(base, lexical)} was found as ${relative(base, path)} (the name differs in case)` };
  }

  #list(folder: string): Promise<Listing | undefined> {
    let pending = this.#listings.get(folder);
    if (!pending) {
      pending = listing(folder);
      this.#listings.set(folder, pending);
    }
    return pending;
  }
}

/** Two names a person would call the same: composed Unicode, lower case. */
function key(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

async function listing(folder: string): Promise<Listing | undefined> {
  const entries: Listing = new Map();
  try {
    for await (const entry of await opendir(folder)) {
      const k = key(entry.name);
      const same = entries.get(k);
      if (same) same.push(entry.name);
      else entries.set(k, [entry.name]);
    }
  } catch {
    return undefined;
  }
  return entries;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
