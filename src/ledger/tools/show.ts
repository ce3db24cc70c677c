import type { RowLine } from '../lines.js';
import { scanRowKey, type RowKey } from '../scan-line.js';
import { parseLine, withSnapshot } from './snapshot.js';

// `avatar-import ledger show USER`: one user's history, every row line about them on every
// target, oldest first. Users are matched ignoring case (an admin types what they remember; the
// lines shown say exactly whom they name). Only matching lines are parsed.

export async function userHistory(path: string, user: string): Promise<RowLine[]> {
  const wanted = user.trim().toLowerCase();
  return withSnapshot(path, async (snapshot) => {
    const found: RowLine[] = [];
    const key: RowKey = { type: undefined, target: undefined, user: undefined, remote: false };
    for await (const { texts } of snapshot.texts()) {
      for (const text of texts) {
        if (scanRowKey(text, key) && (key.type !== 'row' || key.user?.toLowerCase() !== wanted)) continue;
        const line = parseLine(text);
        if (line?.type === 'row' && line.user.toLowerCase() === wanted) found.push(line);
      }
    }
    return found;
  });
}

export function formatHistory(user: string, lines: readonly RowLine[]): string {
  if (lines.length === 0) return `no rows for ${user} in this ledger\n`;
  const out: string[] = [];
  for (const line of lines) {
    const outcome =
      line.status === 'failed' ? `failed ${line.error?.code ?? ''}: ${line.error?.message ?? ''}`
        : line.status === 'skipped' ? `skipped${line.reason ? ` (${line.reason})` : ' (unchanged)'}`
          : `${line.status}${line.reason ? ` (${line.reason})` : ''}`;
    // Row 0: a leaver's line (--remove-missing), about a user the run's CSV did not name.
    out.push(`${line.ts}  run ${line.run}  ${line.target}  ${line.row === 0 ? 'not in the CSV' : `row ${line.row}`}${line.user === user ? '' : ` as ${line.user}`}  ${outcome}`);
    const detail = [
      `source ${line.source}`,
      ...(line.remote === undefined ? [] : [`holds ${line.remote === '' ? 'nothing' : line.remote}`]),
      ...(line.previous === undefined ? [] : [`previous ${line.previous}`]),
    ];
    out.push(`    ${detail.join('  ')}`);
  }
  return out.join('\n') + '\n';
}
