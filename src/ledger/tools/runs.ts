import type { EndLine, RunLine } from '../lines.js';
import { withSnapshot, type Located } from './snapshot.js';

// `avatar-import ledger runs`: every run in the ledger, newest first, with what it did and how it
// ended. Runs are few (one a night), so they are kept as small records; rows are only counted.

export interface RunSummary {
  readonly run: string;
  /** From the run line; absent when the ledger lost it (a merge of partial files). */
  readonly started?: string;
  readonly version?: string;
  /** The targets the run named or wrote rows for. */
  readonly targets: readonly string[];
  readonly csv?: string;
  /** Row lines by status: the end line's counts when there is one, else the lines found. */
  readonly counts: Readonly<Record<string, number>>;
  readonly rows: number;
  /** The exit code, when the run recorded its end. */
  readonly exit?: number;
  readonly ended?: string;
  /** No end line: the run was killed, crashed, or is still running (or predates end lines). */
  readonly unfinished: boolean;
}

interface Census {
  order: number;
  run?: RunLine;
  end?: EndLine;
  targets: Set<string>;
  counts: Record<string, number>;
}

/** One pass over the lines: run line, end line and row counts per run. */
export class RunCensus {
  private readonly runs = new Map<string, Census>();

  add({ line }: Located): void {
    const census = this.of(line.run);
    if (line.type === 'run') {
      census.run = line;
      // A single-target run names `target`; a run of several lists `targets: [{ target }, …]`.
      const named = [line.options.target, ...(Array.isArray(line.options.targets) ? line.options.targets.map((t: { target?: unknown }) => t?.target) : [])];
      for (const target of named) if (typeof target === 'string') census.targets.add(target);
    } else if (line.type === 'end') {
      census.end = line;
    } else {
      this.addRow(line.run, line.target, line.status);
    }
  }

  /** A row line, from its run, target and status alone (compaction reads no more of it). */
  addRow(run: string, target: string, status: string): void {
    const census = this.of(run);
    census.targets.add(target);
    census.counts[status] = (census.counts[status] ?? 0) + 1;
  }

  /** A run's row lines counted elsewhere (a stretch of the file another thread judged): their
   * targets, and their counts by status in the order the statuses first came, as `addRow` would
   * have recorded them (an end line compaction writes lists them in that order). */
  addRows(run: string, targets: Iterable<string>, counts: ReadonlyMap<unknown, number>): void {
    const census = this.of(run);
    for (const target of targets) census.targets.add(target);
    for (const [status, lines] of counts) census.counts[status as string] = (census.counts[status as string] ?? 0) + lines;
  }

  /** Newest first: by start time, then by position in the file. */
  summaries(): RunSummary[] {
    const list = [...this.runs.entries()].map(([run, census]) => summarise(run, census));
    const order = new Map([...this.runs.entries()].map(([run, census]) => [run, census.order]));
    return list.sort((a, b) => (b.started ?? '').localeCompare(a.started ?? '') || order.get(b.run)! - order.get(a.run)!);
  }

  private of(run: string): Census {
    let census = this.runs.get(run);
    if (census === undefined) {
      census = { order: this.runs.size, targets: new Set(), counts: {} };
      this.runs.set(run, census);
    }
    return census;
  }
}

function summarise(run: string, census: Census): RunSummary {
  const counts = census.end ? { ...census.end.counts } : census.counts;
  const csv = census.run?.options.csv;
  return {
    run,
    ...(census.run ? { started: census.run.started, version: census.run.version } : {}),
    targets: [...census.targets].sort(),
    ...(typeof csv === 'string' ? { csv } : {}),
    counts,
    rows: Object.values(counts).reduce((sum, n) => sum + n, 0),
    ...(census.end?.exit === undefined ? {} : { exit: census.end.exit }),
    ...(census.end?.ended === undefined ? {} : { ended: census.end.ended }),
    // An end line compaction wrote keeps the counts, not the ending: still no end recorded.
    unfinished: census.end === undefined || census.end.compacted === true,
  };
}

export async function listRuns(path: string): Promise<RunSummary[]> {
  return withSnapshot(path, async (snapshot) => {
    const census = new RunCensus();
    for await (const batch of snapshot.lines()) for (const located of batch) census.add(located);
    return census.summaries();
  });
}

/** `ok 12, skipped 980, failed 3` in a fixed order, then any other status. */
export function formatCounts(counts: Readonly<Record<string, number>>): string {
  const known = ['ok', 'skipped', 'failed', 'removed'];
  const keys = [...known.filter((k) => counts[k]), ...Object.keys(counts).filter((k) => !known.includes(k) && counts[k]).sort()];
  return keys.length === 0 ? 'no rows' : keys.map((k) => `${k} ${counts[k]}`).join(', ');
}

export function formatExit(run: RunSummary): string {
  if (run.exit !== undefined) return `exit ${run.exit}`;
  return run.unfinished ? 'no end recorded (killed, still running, or an older version)' : 'exit not recorded';
}

export function formatRuns(runs: readonly RunSummary[]): string {
  if (runs.length === 0) return 'no runs in this ledger\n';
  const lines = runs.map((run) =>
    [run.run, run.started ?? '?', run.targets.join(',') || '-', formatCounts(run.counts), formatExit(run)],
  );
  return table(['run', 'started', 'target', 'rows', 'end'], lines);
}

/** Left-aligned columns, two spaces apart; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}
