import { carriedOver, type RowEvent, type RowSink } from './events.js';

// Counts per target for the --json summary and the JSON log: statuses, failures by code, and
// failures new in this run apart from those carried over from an earlier one (what monitoring
// should alert on). Bounded: one entry per target and per error code.

export interface TargetCounts {
  ok: number;
  skipped: number;
  failed: number;
  /** Leavers' avatars removed (--remove-missing); not CSV rows. */
  removed: number;
  /** Skipped because the user set their own avatar since the tool's. */
  changedByUser: number;
  failuresByCode: Record<string, number>;
  newFailures: number;
  carriedOverFailures: number;
}

export class RunCounts implements RowSink {
  readonly targets = new Map<string, TargetCounts>();
  bytesRead = 0;

  row(event: RowEvent): void {
    const { line } = event;
    let counts = this.targets.get(line.target);
    if (!counts) {
      counts = { ok: 0, skipped: 0, failed: 0, removed: 0, changedByUser: 0, failuresByCode: {}, newFailures: 0, carriedOverFailures: 0 };
      this.targets.set(line.target, counts);
    }
    counts[line.status]++;
    if (line.reason === 'changed_by_user') counts.changedByUser++;
    if (line.status === 'failed') {
      const code = line.error?.code ?? 'unknown';
      counts.failuresByCode[code] = (counts.failuresByCode[code] ?? 0) + 1;
      if (carriedOver(event)) counts.carriedOverFailures++;
      else counts.newFailures++;
    }
    this.bytesRead += event.bytesRead ?? 0;
  }

  /** All targets added up. */
  total(): TargetCounts {
    const sum: TargetCounts = { ok: 0, skipped: 0, failed: 0, removed: 0, changedByUser: 0, failuresByCode: {}, newFailures: 0, carriedOverFailures: 0 };
    for (const counts of this.targets.values()) {
      sum.ok += counts.ok;
      sum.skipped += counts.skipped;
      sum.failed += counts.failed;
      sum.removed += counts.removed;
      sum.changedByUser += counts.changedByUser;
      sum.newFailures += counts.newFailures;
      sum.carriedOverFailures += counts.carriedOverFailures;
      for (const [code, count] of Object.entries(counts.failuresByCode)) sum.failuresByCode[code] = (sum.failuresByCode[code] ?? 0) + count;
    }
    return sum;
  }
}
