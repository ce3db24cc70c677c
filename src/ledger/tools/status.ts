import type { RowLine } from '../lines.js';
import { hintFor } from '../../report/failed/hints.js';
import { Outcomes } from './outcomes.js';
import { RunCensus, formatCounts, formatExit, type RunSummary } from './runs.js';
import { withSnapshot } from './snapshot.js';

// `avatar-import ledger status`: where every target stands. Two streaming passes: one to find
// each user's current outcome (outcomes.ts), one to count them and the runs.

export interface FailureGroup {
  readonly code: string;
  /** Users (and row problems) failing now with this code. */
  readonly count: number;
  /** The one on the lowest CSV row, as an example to look at. */
  readonly sample: { readonly user: string; readonly row: number; readonly message: string };
  readonly hint: string;
}

export interface TargetStatus {
  readonly target: string;
  /** Users whose avatar the tool set and that is still in place (`ok`, or skipped as unchanged). */
  readonly ok: number;
  /** Users whose latest outcome is a failure. */
  readonly failed: number;
  /** Users skipped for a reason (changed_by_user …), by reason. */
  readonly skipped: Readonly<Record<string, number>>;
  /** Users with another outcome (`removed` …), by status. */
  readonly other: Readonly<Record<string, number>>;
  /** Failing CSV rows of the latest run that name no user, or name one a second time. */
  readonly rowProblems: number;
  /** Failing users and row problems by code, most frequent first. */
  readonly failures: readonly FailureGroup[];
  /** The latest runs that touched this target, newest first. */
  readonly runs: readonly RunSummary[];
}

export interface StatusReport {
  readonly ledger: string;
  readonly bytes: number;
  readonly targets: readonly TargetStatus[];
}

interface Tally {
  ok: number;
  failed: number;
  skipped: Record<string, number>;
  other: Record<string, number>;
  rowProblems: number;
  failures: Map<string, { count: number; sample: RowLine }>;
}

export async function ledgerStatus(path: string, options: { runs?: number } = {}): Promise<StatusReport> {
  const lastRuns = options.runs ?? 5;
  return withSnapshot(path, async (snapshot) => {
    const outcomes = await Outcomes.build(snapshot);
    const census = new RunCensus();
    const tallies = new Map<string, Tally>();
    for await (const batch of snapshot.lines()) {
      for (const located of batch) {
        census.add(located);
        const { line, offset } = located;
        if (line.type !== 'row') continue;
        const currency = outcomes.classify(line, offset);
        if (currency === undefined) continue;
        const tally = tallyOf(tallies, line.target);
        if (currency === 'problem') tally.rowProblems++;
        else if (line.status === 'ok' || (line.status === 'skipped' && line.reason === undefined)) tally.ok++;
        else if (line.status === 'failed') tally.failed++;
        else if (line.status === 'skipped') tally.skipped[line.reason!] = (tally.skipped[line.reason!] ?? 0) + 1;
        else tally.other[line.status] = (tally.other[line.status] ?? 0) + 1;
        if (line.status === 'failed') {
          const code = line.error?.code ?? 'unknown';
          const group = tally.failures.get(code);
          if (group === undefined) tally.failures.set(code, { count: 1, sample: line });
          else {
            group.count++;
            if (line.row < group.sample.row) group.sample = line;
          }
        }
      }
    }
    const runs = census.summaries();
    const targets = [...tallies.keys()].sort().map((target): TargetStatus => {
      const tally = tallies.get(target)!;
      return {
        target,
        ok: tally.ok,
        failed: tally.failed,
        skipped: tally.skipped,
        other: tally.other,
        rowProblems: tally.rowProblems,
        failures: [...tally.failures.entries()]
          .sort(([a, x], [b, y]) => y.count - x.count || a.localeCompare(b))
          .map(([code, { count, sample }]) => ({
            code, count, hint: hintFor(code, sample.source),
            sample: { user: sample.user, row: sample.row, message: sample.error?.message ?? '' },
          })),
        runs: runs.filter((run) => run.targets.includes(target)).slice(0, lastRuns),
      };
    });
    return { ledger: snapshot.path, bytes: snapshot.size, targets };
  });
}

function tallyOf(tallies: Map<string, Tally>, target: string): Tally {
  let tally = tallies.get(target);
  if (tally === undefined) {
    tally = { ok: 0, failed: 0, skipped: {}, other: {}, rowProblems: 0, failures: new Map() };
    tallies.set(target, tally);
  }
  return tally;
}

export function formatStatus(report: StatusReport): string {
  const out: string[] = [`ledger ${report.ledger} (${report.bytes} bytes)`];
  if (report.targets.length === 0) out.push('', 'no rows yet');
  for (const t of report.targets) {
    out.push('', t.target);
    const users = t.ok + t.failed + sum(t.skipped) + sum(t.other);
    out.push(`  users: ${users}  ok ${t.ok}  failed ${t.failed}${entries(t.skipped).map(([r, n]) => `  skipped (${r}) ${n}`).join('')}${entries(t.other).map(([s, n]) => `  ${s} ${n}`).join('')}`);
    if (t.rowProblems > 0) out.push(`  rows of the latest run with no usable user (empty id, malformed, duplicate): ${t.rowProblems}`);
    if (t.failures.length > 0) {
      out.push('  failing now, by code:');
      for (const f of t.failures) {
        out.push(`    ${f.code} ${f.count}  e.g. ${f.sample.row === 0 ? 'leaver' : `row ${f.sample.row}`}${f.sample.user ? ` ${f.sample.user}` : ''}: ${f.sample.message}`);
        out.push(`      → ${f.hint}`);
      }
    }
    if (t.runs.length > 0) {
      out.push('  last runs:');
      for (const run of t.runs) out.push(`    ${run.run}  ${run.started ?? '?'}  ${formatCounts(run.counts)}  ${formatExit(run)}`);
    }
  }
  return out.join('\n') + '\n';
}

function entries(record: Readonly<Record<string, number>>): [string, number][] {
  return Object.entries(record).sort(([a], [b]) => a.localeCompare(b));
}

function sum(record: Readonly<Record<string, number>>): number {
  return Object.values(record).reduce((a, b) => a + b, 0);
}
