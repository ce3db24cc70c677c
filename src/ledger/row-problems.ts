import { open } from 'node:fs/promises';

import { lineBatches } from './line-batches.js';
import { isProblem, isRowLine, isRunLine, type RowLine } from './lines.js';

// Row problems (a record that could not be read, a row naming no user, a user's second row) are
// failures the ledger cannot file under a user's history (tools/outcomes.ts). Whether tonight's is
// "the same as last time" (report/novelty.ts: exit 4, not 1) is asked of the problems of the last
// run on the same target instead, read once per run, and only by a run that meets one.

/** Beyond this many problems in one run, the rest count as new: memory stays bounded. */
const MAX_KEPT = 10_000;

/** What makes two row problems the same: code, message (it names the CSV line), row, user, cell. */
export function problemKey(line: Pick<RowLine, 'row' | 'user' | 'source' | 'error'>): string {
  return JSON.stringify([line.error?.code ?? '', line.row, line.user, line.source ?? '', line.error?.message ?? '']);
}

/**
 * The failed row problems of the last run, in bytes [0, `end`) of the ledger at `path`, that was
 * run against `target`, by problemKey. The last run is the last run line naming the target; a
 * ledger whose runs interleave (merged by hand) may lose some, which only makes them count as new.
 */
export async function lastRunProblems(path: string, target: string, end: number): Promise<ReadonlyMap<string, RowLine>> {
  let problems = new Map<string, RowLine>();
  let run: string | undefined;
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return problems; // no ledger yet (a dry run's first night): nothing was there last time
  }
  try {
    for await (const { texts } of lineBatches(handle, end)) {
      for (const text of texts) {
        // Cheap tests first: most lines are rows of known users, and a million of them are parsed
        // for nothing otherwise.
        if (text.includes('"type":"run"')) {
          const line = parse(text);
          if (isRunLine(line) && names(line.options, target)) {
            run = line.run;
            problems = new Map();
          }
        } else if (run !== undefined && problems.size < MAX_KEPT && (text.includes('"user":""') || text.includes('"duplicate_user"'))) {
          const line = parse(text);
          if (isRowLine(line) && line.run === run && line.target === target && line.status === 'failed' && isProblem(line)) problems.set(problemKey(line), line);
        }
      }
    }
  } finally {
    await handle.close();
  }
  return problems;
}

/** Whether a run line's options name `target` (one target: `target`; several: `targets[].target`). */
function names(options: Readonly<Record<string, unknown>>, target: string): boolean {
  if (options.target === target) return true;
  return Array.isArray(options.targets) && options.targets.some((t: unknown) => typeof t === 'object' && t !== null && (t as { target?: unknown }).target === target);
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
