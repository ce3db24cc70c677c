import type { RowLine } from '../ledger/lines.js';
import { isCarriedOver, type FailureFacts } from './novelty.js';

// Counts kept while rows finish: what progress shows and what the summary reports. Bounded: error
// codes are a short fixed list, and only the first few failures are kept in full.

const KEPT_FAILURES = 10;

export interface CodeCount {
  readonly code: string;
  count: number;
  /** The first row that failed with it, so the operator has one to look at. */
  sample: { readonly row: number; readonly user: string };
}

export class Tally {
  ok = 0;
  skipped = 0;
  failed = 0;
  /** Leavers (--remove-missing): users not in the CSV, so not in `done`. Their avatar removed,
   * or left alone (changed since the tool set it, gone from the target). */
  removed = 0;
  leaversKept = 0;
  changedByUser = 0;
  /** First contact: the user already had an avatar of their own, kept. */
  hasOwnAvatar = 0;
  /** An empty image cell. */
  noPhoto = 0;
  /** Failures that repeat the user's last one exactly (novelty.ts), and the others. */
  carriedFailures = 0;
  newFailures = 0;
  readonly codes = new Map<string, CodeCount>();
  readonly firstFailures: RowLine[] = [];
  readonly started = Date.now();

  get done(): number {
    return this.ok + this.skipped + this.failed;
  }

  /** `previous`: the user's latest line on this target before this run, if any. */
  add(line: RowLine, previous?: FailureFacts): void {
    if (line.status === 'ok') this.ok++;
    else if (line.status === 'skipped') {
      this.skipped++;
      if (line.reason === 'changed_by_user') this.changedByUser++;
      else if (line.reason === 'has_own_avatar') this.hasOwnAvatar++;
      else if (line.reason === 'no_photo') this.noPhoto++;
    } else {
      this.failed++;
      if (isCarriedOver(previous, line)) this.carriedFailures++;
      else this.newFailures++;
      const code = line.error?.code ?? 'unknown';
      const entry = this.codes.get(code);
      if (entry) {
        entry.count++;
        // Rows finish out of order: keep the earliest row as the example.
        if (line.row < entry.sample.row) entry.sample = { row: line.row, user: line.user };
      } else this.codes.set(code, { code, count: 1, sample: { row: line.row, user: line.user } });
      if (this.firstFailures.length < KEPT_FAILURES) this.firstFailures.push(line);
    }
  }

  /** A leaver's line (--remove-missing): removed, or left alone; a failure counts as any other. */
  addLeaver(line: RowLine, previous?: FailureFacts): void {
    if (line.status === 'removed') this.removed++;
    else if (line.status === 'skipped') this.leaversKept++;
    else this.add(line, previous);
  }

  topCodes(n = 5): CodeCount[] {
    return [...this.codes.values()].sort((a, b) => b.count - a.count || a.code.localeCompare(b.code)).slice(0, n);
  }
}
