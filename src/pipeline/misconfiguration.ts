// Stop early when a run is clearly misconfigured. A wrong --images-dir once filled a ledger with
// 15 failures out of 16 rows and pointed nowhere; when most of the first rows fail with one code,
// the cause is the set-up, not the rows, and going on only writes noise (and, on a server, load).

import { opendir, stat } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import type { RowStatus } from '../ledger/lines.js';

export interface HaltRule {
  /** Fraction of the first `window` rows failing with one code that halts the run; 0 turns it off. */
  readonly ratio: number;
  /** How many finished rows are judged (the first 50 by default). */
  readonly window: number;
  /** A run shorter than the window is judged at its end only from this many rows: one person's
   * missing photo in a one-row onboarding is a row failure, not a misconfiguration. */
  readonly minimum: number;
}

export const DEFAULT_HALT_RULE: HaltRule = { ratio: 0.9, window: 50, minimum: 10 };

/** What the watch saw of one finished row. */
export interface Outcome {
  readonly status: RowStatus;
  readonly code?: string;
  /** The image cell as written (for the file_not_found hint) and the user (for user_not_found). */
  readonly cell?: string;
  readonly user?: string;
}

export interface Verdict {
  readonly code: string;
  readonly failed: number;
  readonly judged: number;
  /** Up to 20 cells and users of the failing rows, for the hint. */
  readonly cells: readonly string[];
  readonly users: readonly string[];
}

/**
 * Watches the first rows of one target. `observe` returns a verdict the moment the window is full
 * and one code reached the ratio; `finish` judges a run that ended before the window filled.
 * Each watch gives at most one verdict.
 */
export class FailureWatch {
  #judged = 0;
  #done = false;
  readonly #codes = new Map<string, { failed: number; cells: string[]; users: string[] }>();

  constructor(private readonly rule: HaltRule = DEFAULT_HALT_RULE) {
    if (!(rule.ratio >= 0 && rule.ratio <= 1)) throw new RangeError(`halt ratio must be from 0 to 1, got ${rule.ratio}`);
    if (rule.ratio === 0) this.#done = true;
  }

  observe(outcome: Outcome): Verdict | undefined {
    if (this.#done) return undefined;
    this.#judged++;
    if (outcome.status === 'failed' && outcome.code) {
      let entry = this.#codes.get(outcome.code);
      if (!entry) this.#codes.set(outcome.code, (entry = { failed: 0, cells: [], users: [] }));
      entry.failed++;
      if (entry.cells.length < 20) {
        if (outcome.cell) entry.cells.push(outcome.cell);
        if (outcome.user) entry.users.push(outcome.user);
      }
    }
    return this.#judged >= this.rule.window ? this.#verdict() : undefined;
  }

  finish(): Verdict | undefined {
    if (this.#done || this.#judged < this.rule.minimum) return undefined;
    return this.#verdict();
  }

  #verdict(): Verdict | undefined {
    this.#done = true;
    for (const [code, entry] of this.#codes) {
      if (entry.failed >= this.rule.ratio * this.#judged) {
        return { code, failed: entry.failed, judged: this.#judged, cells: entry.cells, users: entry.users };
      }
    }
    return undefined;
  }
}

/** The first line of the message: what was seen. */
export function describeVerdict(verdict: Verdict): string {
  return `${verdict.failed} of the first ${verdict.judged} rows failed with ${verdict.code}: the run looks misconfigured, so it stopped before going on (--halt-on-fail-ratio 0 turns this off)`;
}

/** Folders visited at most while looking for the photos: a huge share must not stall the hint. */
const MAX_FOLDERS = 2000;

/**
 * For `file_not_found`: the folder below `imagesDir` (two levels deep at most) where most of the
 * missing cells exist, if there is one. Cells are tried as written and by their file name.
 */
export async function suggestImagesDir(imagesDir: string, cells: readonly string[]): Promise<string | undefined> {
  const wanted = cells.map((cell) => cell.trim().replace(/\\/g, '/')).filter((cell) => cell !== '' && !/^[a-z][a-z0-9+.-]*:/i.test(cell));
  if (wanted.length === 0) return undefined;
  const base = resolve(imagesDir);
  let best: { folder: string; hits: number } | undefined;
  let visited = 0;
  const queue: Array<{ folder: string; depth: number }> = [{ folder: base, depth: 0 }];
  while (queue.length > 0 && visited < MAX_FOLDERS) {
    const { folder, depth } = queue.shift()!;
    visited++;
    if (folder !== base) {
      let hits = 0;
      for (const cell of wanted) if ((await isFile(join(folder, cell))) || (await isFile(join(folder, basename(cell))))) hits++;
      if (hits > (best?.hits ?? 0)) best = { folder, hits };
    }
    if (depth >= 2) continue;
    try {
      for await (const entry of await opendir(folder)) {
        if (entry.isDirectory() && !entry.name.startsWith('.')) queue.push({ folder: join(folder, entry.name), depth: depth + 1 });
      }
    } catch {
      /* unreadable folder: nothing to suggest from it */
    }
  }
  return best && best.hits * 2 >= wanted.length ? best.folder : undefined;
}

/** The hint for a `file_not_found` verdict: where it looked and, when found, the folder to use. */
export async function fileNotFoundHint(imagesDir: string, cells: readonly string[]): Promise<string> {
  const base = resolve(imagesDir);
  const example = cells[0] ? ` (e.g. ${join(base, cells[0].replace(/\\/g, '/'))})` : '';
  const found = await suggestImagesDir(base, cells);
  if (!found) return `the photos were looked for in ${base}${example}; check --images-dir and the image column`;
  return `the photos were looked for in ${base}${example}, but they are in ${relative(base, found) || found}: use --images-dir ${found}`;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() === true;
}
