import type { RunCounts, TargetCounts } from './run-counts.js';

// `--json`: the end of a run as one JSON object on stdout, for scripts and monitoring. Field
// names are an interface like the exit codes: add fields, never rename one.

export interface JsonSummaryContext {
  readonly run: string;
  readonly dryRun: boolean;
  readonly exitCode: number;
  /** ms since the epoch. */
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly ledger: string | undefined;
  /** Each target's ledger, when targets write to different ones. */
  readonly ledgers?: Readonly<Record<string, string>>;
  readonly imagesRead?: number;
  readonly imageBytesRead?: number;
  /** The first target that was stopped (the text summary names every one). */
  readonly fatal?: { readonly target?: string; readonly code: string; readonly message: string };
  readonly interrupted: boolean;
  /** Files this run wrote for people: contact sheet, failed-rows file, log. */
  readonly files?: Readonly<Record<string, string>>;
}

export interface JsonSummary {
  run: string;
  dryRun: boolean;
  exitCode: number;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  rows: number;
  rowsPerSecond: number;
  /** `removed`: leavers' avatars removed (--remove-missing), not counted in `rows`. */
  status: { ok: number; skipped: number; failed: number; changedByUser: number; removed: number };
  failures: { new: number; carriedOver: number; byCode: Record<string, number> };
  targets: Record<string, Pick<JsonSummary, 'status' | 'failures'> & { ledger?: string }>;
  imagesRead: number | null;
  imageBytesRead: number | null;
  ledger: string | null;
  fatal: { target?: string; code: string; message: string } | null;
  interrupted: boolean;
  files: Record<string, string>;
}

export function jsonSummary(counts: RunCounts, context: JsonSummaryContext): JsonSummary {
  const total = counts.total();
  const rows = total.ok + total.skipped + total.failed;
  const seconds = Math.max(0, (context.finishedAt - context.startedAt) / 1000);
  const targets: JsonSummary['targets'] = {};
  for (const [target, c] of [...counts.targets].sort(([a], [b]) => a.localeCompare(b))) {
    const ledger = context.ledgers?.[target];
    targets[target] = { ...block(c), ...(ledger ? { ledger } : {}) };
  }
  return {
    run: context.run,
    dryRun: context.dryRun,
    exitCode: context.exitCode,
    startedAt: new Date(context.startedAt).toISOString(),
    finishedAt: new Date(context.finishedAt).toISOString(),
    durationSeconds: round(seconds),
    rows,
    rowsPerSecond: round(rows / Math.max(seconds, 0.001)),
    ...block(total),
    targets,
    imagesRead: context.imagesRead ?? null,
    imageBytesRead: context.imageBytesRead ?? null,
    ledger: context.ledger ?? null,
    fatal: context.fatal ? { ...(context.fatal.target ? { target: context.fatal.target } : {}), code: context.fatal.code, message: context.fatal.message } : null,
    interrupted: context.interrupted,
    files: { ...context.files },
  };
}

function block(c: TargetCounts): Pick<JsonSummary, 'status' | 'failures'> {
  // Commonest code first, as the text summary lists them.
  const byCode = Object.fromEntries(Object.entries(c.failuresByCode).sort(([a, x], [b, y]) => y - x || a.localeCompare(b)));
  return {
    status: { ok: c.ok, skipped: c.skipped, failed: c.failed, changedByUser: c.changedByUser, removed: c.removed },
    failures: { new: c.newFailures, carriedOver: c.carriedOverFailures, byCode },
  };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
