// The run and performance options (see src/options/schema.ts for how options are declared and added).
import { area, boolean, integer, number, text } from '../options/declare.js';
import type { Values } from '../options/declare.js';

/** Measured on 2 cores with 12 MP camera JPEGs: see the README's benchmark section. */
export const DEFAULT_JOBS = 4;

export const runArea = area('run', 'Run', {
  ledger: text({
    path: true,
    arg: 'FILE',
    doc: 'the results ledger. By default each target has its own, found by the target whatever the CSV is called: `<out>/.avatar-import/ledger.jsonl` for `dir`, `$XDG_STATE_HOME/avatar-import/<target>-<host>.jsonl` for a remote target (see [Where state lives](#where-state-lives)). Targets given the same file share it (one line per target and user).',
    help: 'results ledger (JSON Lines) (default: per target, see "Where state lives")',
    defaultDoc: 'per target',
    perTarget: true,
  }),
  force: boolean({ default: false, doc: 'redo rows the ledger says are done.' }),
  'retry-failed': boolean({ default: false, doc: 'try failed rows again even when their input has not changed.' }),
  'dry-run': boolean({
    default: false,
    doc: 'read, validate and normalise everything; print what would happen; write nothing to the target or the ledger.',
    help: 'read, validate and normalise everything; write nothing to the target or ledger',
  }),
  checksum: boolean({
    default: false,
    doc: 'compare sources (and `dir` outputs) by content, not by size and mtime.',
    help: 'compare sources and outputs by content, not size and mtime',
  }),
  shard: text({
    arg: 'K/N',
    doc: 'process only the users of shard K of N (1-based), by a stable hash of the canonical user: the same split whatever the row order, the file name or the machine. `auto` takes K from `JOB_COMPLETION_INDEX` (Kubernetes Indexed Jobs) and N from `--shards` or `JOB_COMPLETIONS`. The ledger gets `.shard-K-of-N` in its name. See [Scaling out](#scaling-out).',
    help: 'only the users of shard K of N (K/N, or auto in a Kubernetes Indexed Job)',
    defaultDoc: 'all rows',
  }),
  shards: integer({ arg: 'N', min: 1, max: 100_000, doc: 'the number of shards for `--shard auto` (else `JOB_COMPLETIONS`).', help: 'number of shards for --shard auto' }),
  'only-new': boolean({
    default: false,
    doc: 'an onboarding wave from a full export: only users the ledger has never seen `ok` on the target; everyone else is `skipped` with reason `not_new` (no request sent for them).',
    help: 'only users never done on the target; the others are skipped (not_new)',
    perTarget: true,
  }),
  'remove-missing': boolean({
    default: false,
    doc: "leavers: users for whom the ledger says the tool set the avatar on the target and who are not in this CSV get it removed (the avatar they had before the tool set again, else none), as `removed` lines. Only avatars still as the tool left them. The CSV is read once before anything is sent; refused (exit 2) with `--shard`, `--only-new`, standard input, or a CSV with malformed rows. See [Leavers](#leavers---remove-missing).",
    help: "remove the avatar the tool set for users no longer in the CSV (leavers)",
    perTarget: true,
  }),
  'max-removals': integer({
    arg: 'N',
    min: 0,
    max: 1_000_000_000,
    doc: 'with `--remove-missing`: when more users than this would lose their avatar on a target, the run stops before importing or removing anything (exit 3). 0: no removals allowed.',
    help: 'with --remove-missing: stop (exit 3) before anything is sent when more would be removed',
    defaultDoc: '5 % of the users the ledger knows on the target, at least 10',
    perTarget: true,
  }),
  'overwrite-user-changes': boolean({
    default: false,
    doc: "replace avatars that users set themselves since the tool's last run (remote targets).",
    help: 'replace avatars users set themselves since the last run',
    perTarget: true,
  }),
  'replace-existing': boolean({
    default: false,
    doc: 'on first contact (a user the ledger has never set an avatar for on this target), replace an avatar the user already has; without it such rows are skipped as `has_own_avatar`. The ledger records what was there as `previous`.',
    help: 'replace avatars users already had before the tool first set one',
    perTarget: true,
  }),
  'require-photo': boolean({
    default: false,
    doc: 'an empty image cell fails the row (`missing_value`) instead of skipping it as `no_photo`.',
    help: 'an empty image cell fails the row instead of being skipped',
  }),
  'halt-on-fail-ratio': number({
    arg: 'R',
    unit: 'a fraction',
    min: 0,
    max: 1,
    default: 0.9,
    doc: 'stop a target (exit 3, with the likeliest cause) when this share of its first 50 rows fail with one code; 0 turns it off.',
    help: 'stop when this share of the first 50 rows fail with one code (0: off)',
  }),
});

export const performanceArea = area('performance', 'Performance', {
  jobs: integer({ arg: 'N', min: 1, max: 64, default: DEFAULT_JOBS, doc: 'images decoded and encoded at once (see benchmarks).', help: 'images decoded/encoded at once' }),
  concurrency: integer({
    arg: 'N',
    min: 1,
    max: 256,
    doc: 'rows in flight to the target; each target has its own window.',
    help: 'rows in flight to the target (default: per target)',
    defaultDoc: 'per target (dir: 4)',
    perTarget: true,
  }),
  retries: integer({
    arg: 'N',
    min: 0,
    max: 100,
    default: 5,
    doc: 'retries of a failing request (5xx, timeouts, resets) before the row fails.',
    perTarget: true,
  }),
  'max-rate': number({
    arg: 'N',
    unit: 'requests per second',
    above: 0,
    doc: 'at most N requests per second to the target (each target its own budget).',
    help: 'at most this many requests per second to the target',
    defaultDoc: 'none',
    perTarget: true,
  }),
  'max-rate-per-shard': number({
    arg: 'N',
    unit: 'requests per second',
    above: 0,
    doc: "with `--shard`: this shard's own request rate. Without it, `--max-rate` is the whole job's budget, split evenly across the shards.",
    help: "with --shard: this shard's own requests per second (else --max-rate is split across shards)",
    defaultDoc: '`--max-rate` ÷ N',
    perTarget: true,
  }),
  'request-timeout': number({
    arg: 'S',
    unit: 'seconds',
    min: 1,
    max: 3600,
    doc: 'the longest a request to a remote target waits for its answer. Within it the timeout follows what the server has shown (three times its usual worst, at least 2 s), so one hung request costs seconds, not the whole run. A write that times out is read back before anything is re-sent.',
    help: 'seconds a request to the target may wait for its answer at most; within that, the timeout follows the latency the server has shown',
    defaultDoc: '90',
    perTarget: true,
  }),
});

export type RunValues = Values<typeof runArea.options>;
export type PerformanceValues = Values<typeof performanceArea.options>;
