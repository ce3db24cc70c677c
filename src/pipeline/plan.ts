// plan(settings) → Plan: everything a run needs, checked, before anything is sent. It reads only
// the files the options name (the CSV's header, credential files through each target's factory)
// and contacts no server: every usage error (exit 2) is raised here, so `execute` starts from a
// run that can only fail on rows or on a target (exit 1 or 3).
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { RowError, UsageError } from '../errors.js';
import { checkMinSize, DEFAULT_EDGE } from '../image/options.js';
import { chooseColumns, type ChosenColumns } from '../input/columns.js';
import { openTable } from '../input/open.js';
import type { SourceOptions } from '../input/source.js';
import type { TableInput } from '../input/table.js';
import { compileTemplate } from '../input/template.js';
import { parseUrlAuth } from '../input/url-auth.js';
import type { Logger } from '../log.js';
import type { AreaValues } from '../options/schema.js';
import type { Settings, TargetSettings } from '../options/settings.js';
import type { Target, TargetContext, TargetFactory } from '../targets/target.js';
import { parseShard, shardLedgerPath, shardRate } from '../input/shard.js';
import type { Shard } from '../input/shard.js';
import { ledgerFor } from './ledger-path.js';
import { checkRemoveMissing } from '../lifecycle/leavers-usage.js';

export interface Plan {
  readonly runId: string;
  /** The export (CSV or workbook), its header read and checked; the records not yet. */
  readonly csv: TableInput;
  /** Absolute path, or undefined for standard input. */
  readonly csvPath?: string;
  readonly format: 'csv' | 'xlsx';
  /** The export's delimiter and encoding (iconv-lite name), for CSVs written back (workbook: , and UTF-8). */
  readonly delimiter: string;
  readonly encoding: string;
  /** The image column, or undefined when --image-template builds the path. */
  readonly imageColumn?: string;
  /** The row's image cell: the column, or what --image-template builds (throws RowError). */
  readonly imageOf: (fields: Record<string, string>) => string;
  /** How the image is found, for the log and the ledger's run line. */
  readonly imageFrom: string;
  readonly source: SourceOptions;
  /** The top-level values of every area (a target's own view is in `PlannedTarget.values`). */
  readonly values: AreaValues;
  readonly targets: readonly PlannedTarget[];
  /** `--shard`: only users of this shard are processed (see input/shard.ts). */
  readonly shard?: Shard;
  /** The export opened again from its start, read as `csv` is (same columns, encoding, skips):
   * --remove-missing's first pass. Undefined for standard input. */
  readonly reopen?: () => Promise<TableInput>;
}

export interface PlannedTarget {
  readonly factory: TargetFactory;
  /** Built, credentials read, not opened: nothing has been sent. */
  readonly target: Target;
  /** Every area's values as they apply to this target. */
  readonly values: AreaValues;
  /** The row's user as this target knows it; throws RowError (missing_value, invalid_user_id). */
  readonly userOf: (fields: Record<string, string>) => string;
  /** The id column; undefined when --user-template builds the user. */
  readonly idColumn?: string;
  /** How the user is found, for the log ("template …" or the column). */
  readonly userFrom: string;
  readonly concurrency: number;
  /** The avatar's edge: --size, or the target's preferred edge, or 512. */
  readonly edge: number;
  /** This target's ledger (pipeline/ledger-path.ts). */
  readonly ledgerPath: string;
  /** The ledger is in its default place, not given: its folder may be created. */
  readonly ledgerIsDefault: boolean;
}

export interface PlanContext {
  readonly env: NodeJS.ProcessEnv;
  readonly log: Logger;
  readonly stdin: NodeJS.ReadableStream;
  /** Given when the caller needs it before the plan (the event log names the run in every line). */
  readonly runId?: string;
}

/** A run's id: when it started (UTC, to the second) and 6 random hex digits. */
export function newRunId(): string {
  return `${new Date().toISOString().replace(/[:.]/g, '').slice(0, 15)}Z-${randomBytes(3).toString('hex')}`;
}

export async function plan(settings: Settings, context: PlanContext): Promise<Plan> {
  const runId = context.runId ?? newRunId();
  const { input, sources } = settings;
  if (input.csv === undefined) throw new UsageError('the CSV path is required: give it as the first argument (- for standard input) or as csv: in --config');
  const fromStdin = input.csv === '-';
  const csvPath = fromStdin ? undefined : resolve(input.csv);
  if (csvPath) {
    const info = await stat(csvPath).catch(() => undefined);
    if (!info?.isFile()) throw new UsageError(`the CSV file ${input.csv} does not exist or is not a file`);
  }
  const shard = shardOf(settings, context.env);
  const imagesDir = resolve(sources.imagesDir ?? (csvPath ? dirname(csvPath) : process.cwd()));
  if (!(await stat(imagesDir).catch(() => undefined))?.isDirectory()) throw new UsageError(`--images-dir ${imagesDir} is not a folder`);
  for (const wanted of settings.targets) {
    const { size, minSize } = wanted.values.image;
    if (size !== undefined) checkMinSize(minSize, size);
    else checkMinSize(minSize, edgeFor(wanted), `the edge (${wanted.factory.name}'s default; set --size)`);
  }

  // Each factory checks its own options and reads its credential files; none sends anything.
  const built: { wanted: TargetSettings; target: Target; concurrency: number }[] = [];
  for (const wanted of settings.targets) {
    const target = await buildTarget(wanted, { runId, env: context.env, log: context.log }, shard).catch((error: unknown) => {
      throw wanted.origin && error instanceof UsageError ? new UsageError(`${error.message} (${wanted.origin})`) : error;
    });
    const concurrency = targetInput(wanted, { runId, env: context.env, log: context.log }, shard).context.pacing.concurrency;
    const twin = built.find((other) => other.target.id === target.id);
    if (twin) throw new UsageError(`two targets are the same destination (${target.id}): give each entry of targets: its own server or folder`);
    built.push({ wanted, target, concurrency });
  }
  checkRemoveMissing(built, { sharded: shard !== undefined, fromStdin });

  const tableOptions = {
    ...(input.delimiter === undefined ? {} : { delimiter: input.delimiter }),
    ...(input.encoding === undefined ? {} : { encoding: input.encoding }),
    skipLines: input.skipLines,
    ...(input.skipRowsMatching === undefined ? {} : { skipRowsMatching: input.skipRowsMatching }),
    ...(input.sheet === undefined ? {} : { sheet: input.sheet }),
  };
  const opened = await openTable(csvPath, context.stdin, { ...tableOptions, onEncoding: (line) => context.log.warn(line) });
  const csv = opened.table;
  // The first lines of output: how the file was read, then which columns were chosen.
  if (opened.notice) context.log.info(opened.notice);
  const columnsFor = (idColumn: string | undefined, userTemplate: string | undefined, target: Target | undefined): ChosenColumns =>
    chooseColumns(csv.headers, {
      ...(idColumn === undefined ? {} : { idColumn }),
      ...(userTemplate === undefined ? {} : { userTemplate }),
      ...(input.imageColumn === undefined ? {} : { imageColumn: input.imageColumn }),
      ...(input.imageTemplate === undefined ? {} : { imageTemplate: input.imageTemplate }),
      ...(target?.features.findsUsersByEmail ? { preferEmail: true } : {}),
    });
  const used = new Set<string>();
  const targets: PlannedTarget[] = [];
  for (const { wanted, target, concurrency } of built) {
    const { idColumn, userTemplate } = wanted.values.input;
    const columns = columnsFor(idColumn, userTemplate, target);
    for (const column of columns.used) used.add(column);
    context.log.info(built.length > 1 ? `${target.id}: ${columns.description}` : columns.description);
    const ledger = await ledgerFor({ target, given: wanted.values.run.ledger, csvPath, env: context.env });
    if (ledger.notice) context.log.warn(ledger.notice);
    targets.push({
      factory: wanted.factory,
      target,
      values: wanted.values,
      userOf: userTemplate ? compileTemplate(userTemplate, csv.headers) : idOf(columns.id!),
      ...(columns.id === undefined ? {} : { idColumn: columns.id }),
      userFrom: userTemplate ? `template ${userTemplate}` : columns.id!,
      concurrency,
      edge: edgeFor(wanted),
      // Shards sharing a volume (or one config file) never share a ledger, nor fight over its lock.
      ledgerPath: shard ? shardLedgerPath(ledger.path, shard) : ledger.path,
      ledgerIsDefault: wanted.values.run.ledger === undefined,
    });
  }
  // The image column is the run's, not a target's: chosen as for the first target.
  const shared = columnsFor(settings.input.idColumn, settings.input.userTemplate, built[0]?.target);
  for (const column of shared.used) used.add(column);
  csv.useColumns([...used]);
  const imageColumn = shared.image;
  const imageOf = input.imageTemplate !== undefined ? compileTemplate(input.imageTemplate, csv.headers, '--image-template') : cellOf(imageColumn!);

  // --url-auth: the credentials, read now so a missing variable is a usage error; masked in every
  // message from here on, and their hosts allowed.
  const urlAuth = sources.urlAuth.map((entry) => {
    const auth = parseUrlAuth(entry, context.env);
    context.log.addSecret(auth.header);
    context.log.addSecret(auth.header.replace(/^(Basic|Bearer) /, ''));
    return auth;
  });
  const allowHosts = [...sources.allowHost, ...sources.urlAuth.map((entry) => entry.slice(0, entry.lastIndexOf('=')).toLowerCase())];

  return {
    runId,
    csv,
    ...(csvPath ? { csvPath } : {}),
    format: opened.format,
    delimiter: opened.delimiter,
    encoding: opened.encoding,
    ...(imageColumn === undefined ? {} : { imageColumn }),
    imageOf,
    imageFrom: input.imageTemplate !== undefined ? `template ${input.imageTemplate}` : imageColumn!,
    source: {
      imagesDir, allowHosts, timeoutMs: Math.round(sources.fetchTimeout * 1000), maxSourceBytes: sources.maxSourceBytes,
      ...(urlAuth.length > 0 ? { urlAuth } : {}),
      followSymlinks: sources.followSymlinks,
      ...(sources.allowPath.length > 0 ? { allowPaths: sources.allowPath.map((dir) => resolve(dir)) } : {}),
      warn: (message) => context.log.warn(message),
    },
    values: settings,
    targets,
    ...(shard ? { shard } : {}),
    ...(csvPath ? {
      reopen: async () => {
        // Detection of the encoding and delimiter looks at the same bytes, so it decides the same.
        const again = (await openTable(csvPath, context.stdin, tableOptions)).table;
        again.useColumns([...used]);
        return again;
      },
    } : {}),
  };
}

/** `--shard` / `--shards` / `--max-rate-per-shard` as a Shard, checked together. */
function shardOf(settings: Settings, env: NodeJS.ProcessEnv): Shard | undefined {
  const { shard, shards } = settings.run;
  if (shard === undefined) {
    if (shards !== undefined) throw new UsageError('--shards is the count for --shard auto: give --shard auto (or --shard K/N) too');
    if (settings.targets.some((wanted) => wanted.values.performance.maxRatePerShard !== undefined)) {
      throw new UsageError('--max-rate-per-shard is for sharded runs: give --shard K/N too, or use --max-rate');
    }
    return undefined;
  }
  const parsed = parseShard({ shard, shards, env });
  for (const wanted of settings.targets) shardRate(parsed, wanted.values.performance);
  return parsed;
}

/** What a target's factory is given: its own options, and the run's options that concern it. */
export function targetInput(wanted: TargetSettings, base: Pick<TargetContext, 'runId' | 'env' | 'log'>, shard?: Shard): { options: TargetSettings['options']; context: TargetContext } {
  const { performance, run } = wanted.values;
  const concurrency = performance.concurrency ?? wanted.factory.defaultConcurrency;
  // With shards, --max-rate is the whole job's budget: N pods must not hit the server N times harder.
  const maxRate = shard ? shardRate(shard, performance) : performance.maxRate;
  return {
    options: wanted.options,
    context: {
      ...base,
      pacing: {
        concurrency,
        retries: performance.retries,
        ...(maxRate === undefined ? {} : { maxRate }),
        ...(performance.requestTimeout === undefined ? {} : { requestTimeoutMs: Math.round(performance.requestTimeout * 1000) }),
      },
      overwriteUserChanges: run.overwriteUserChanges,
      checksum: run.checksum,
    },
  };
}

/** Build (not open) one target: the factory checks its options and reads its credential files. */
export function buildTarget(wanted: TargetSettings, base: Pick<TargetContext, 'runId' | 'env' | 'log'>, shard?: Shard): Promise<Target> {
  const { options, context } = targetInput(wanted, base, shard);
  return wanted.factory.create(options, context);
}

function edgeFor(wanted: TargetSettings): number {
  return wanted.values.image.size ?? wanted.factory.preferredEdge ?? DEFAULT_EDGE;
}

/** The image cell as written; empty is for locate() to refuse (missing_value). */
function cellOf(column: string): (fields: Record<string, string>) => string {
  return (fields) => fields[column] ?? '';
}

function idOf(column: string): (fields: Record<string, string>) => string {
  return (fields) => {
    const value = (fields[column] ?? '').trim();
    if (value === '') throw new RowError('missing_value', `the ${column} cell is empty`);
    return value;
  };
}
