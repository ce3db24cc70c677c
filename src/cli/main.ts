import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { FatalError, RowError, UsageError } from '../errors.js';
import { settingsKey } from '../image/normalise.js';
import type { NormaliseOptions } from '../image/normalise.js';
import { openCsv, pickColumns } from '../input/csv.js';
import { compileTemplate } from '../input/template.js';
import { Ledger } from '../ledger/ledger.js';
import type { RowLine } from '../ledger/lines.js';
import { createLogger } from '../log.js';
import type { Logger } from '../log.js';
import { run } from '../pipeline/run.js';
import { Progress } from '../report/progress.js';
import { summarise } from '../report/summary.js';
import { Tally } from '../report/tally.js';
import { findTarget } from '../targets/registry.js';
import type { Target } from '../targets/target.js';
import { formatBytes } from '../report/format.js';
import { countRows } from './count-rows.js';
import { checkColour } from './colour.js';
import { parseOptions } from './options.js';
import type { Options } from './options.js';

/** Exit codes: the contract scripts and schedulers rely on. */
export const EXIT = { ok: 0, someFailed: 1, usage: 2, fatal: 3, interrupted: 130 } as const;

export async function main(args: readonly string[]): Promise<number> {
  // One logger for the whole run: secrets a target registers are masked in every message,
  // including the fatal ones printed here.
  let log = createLogger();
  try {
    const options = await parseOptions(args);
    if (!options) return EXIT.ok;
    log = createLogger({ quiet: options.quiet, verbose: options.verbose });
    return await importRows(options, log);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`avatar-import: ${log.redact(error.message)}\nRun avatar-import --help for every option.\n`);
      return EXIT.usage;
    }
    if (error instanceof FatalError) {
      process.stderr.write(`avatar-import: aborted: ${log.redact(error.message)}\n`);
      return EXIT.fatal;
    }
    process.stderr.write(`avatar-import: unexpected error: ${log.redact(error instanceof Error ? (error.stack ?? error.message) : String(error))}\n`);
    return EXIT.fatal;
  }
}

async function importRows(options: Options, log: Logger): Promise<number> {
  const runId = `${new Date().toISOString().replace(/[:.]/g, '').slice(0, 15)}Z-${randomBytes(3).toString('hex')}`;
  const fromStdin = options.csv === '-';
  const csvPath = fromStdin ? undefined : resolve(options.csv);
  if (csvPath) {
    const info = await stat(csvPath).catch(() => undefined);
    if (!info?.isFile()) throw new UsageError(`the CSV file ${options.csv} does not exist or is not a file`);
  }
  const imagesDir = resolve(options.imagesDir ?? (csvPath ? dirname(csvPath) : process.cwd()));
  if (!(await stat(imagesDir).catch(() => undefined))?.isDirectory()) {
    throw new UsageError(`--images-dir ${imagesDir} is not a folder`);
  }
  if (fromStdin && !options.ledger && !options.dryRun) {
    throw new UsageError('reading the CSV from standard input needs --ledger FILE (there is no CSV file to put it next to)');
  }
  const ledgerPath = options.ledger ? resolve(options.ledger) : csvPath ? defaultLedgerPath(csvPath) : undefined;
  await checkColour(options.background);

  const factory = findTarget(options.target);
  if (!factory) throw new UsageError(`--target ${options.target} is unknown`);
  const target: Target = await factory.create({ runId, env: process.env, log, argv: options.argv });

  const csv = await openCsv(fromStdin ? process.stdin : createReadStream(csvPath!), options.delimiter ? { delimiter: options.delimiter } : {});
  const columns = pickColumns(csv.headers, {
    ...(options.idColumn ? { idColumn: options.idColumn } : {}),
    ...(options.imageColumn ? { imageColumn: options.imageColumn } : {}),
  });
  const userOf = options.userTemplate ? compileTemplate(options.userTemplate, csv.headers) : idOf(columns.id);

  // The ledger lock comes before the target is touched: a second run on the same ledger is
  // refused before it sends anything.
  const ledger = ledgerPath ? await Ledger.open(ledgerPath, { readOnly: options.dryRun }) : await Ledger.open(join(imagesDir, '.avatar-import-dry-run.ledger.jsonl'), { readOnly: true });
  const controller = new AbortController();
  let progress: Progress | undefined;
  const onSigint = (): void => {
    if (controller.signal.aborted) process.exit(EXIT.interrupted);
    log.warn('interrupted: finishing the rows in flight (Ctrl-C again to stop at once)');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  try {
    const limits = await target.open(controller.signal);
    const normalise: NormaliseOptions = {
      size: options.size ?? limits.preferredEdge ?? 512,
      minSize: options.minSize,
      maxBytes: Math.min(options.maxBytes, limits.maxBytes ?? Infinity),
      quality: options.quality,
      crop: options.crop,
      background: options.background,
      allowSvg: options.allowSvg,
      maxPixels: options.maxPixels,
    };
    if (normalise.minSize > normalise.size) throw new UsageError(`--min-size (${normalise.minSize}) cannot be larger than the edge (${normalise.size})`);
    if (normalise.maxBytes < options.maxBytes) log.info(`--max-bytes capped to ${formatBytes(normalise.maxBytes)}: the target accepts no more`);
    const settings = settingsKey(normalise);

    log.info(`${options.dryRun ? 'dry run: ' : ''}${csvPath ?? 'stdin'} → ${target.id} (id: ${options.userTemplate ? `template ${options.userTemplate}` : columns.id}, image: ${columns.image}; ledger: ${ledgerPath ?? 'none'})`);
    if (!options.dryRun) {
      await ledger.append({
        type: 'run', run: runId, version: VERSION, started: new Date().toISOString(),
        options: {
          csv: csvPath ?? '-', target: target.id, idColumn: columns.id, imageColumn: columns.image,
          ...(options.userTemplate ? { userTemplate: options.userTemplate } : {}),
          imagesDir, normalise, settings, force: options.force, retryFailed: options.retryFailed,
          checksum: options.checksum, jobs: options.jobs,
        },
      });
    }

    const tally = new Tally();
    let total: number | undefined;
    if (csvPath) void countRows(csvPath).then((n) => (total = n), () => undefined);
    const showProgress = options.progress !== 'off' && !options.quiet;
    if (showProgress) {
      progress = new Progress({ stream: process.stderr, tally, total: () => total, ...(options.progress === 'auto' ? {} : { live: options.progress === 'live' }) });
      progress.start();
    }
    const result = await run({
      runId, csv, userOf, imageColumn: columns.image,
      source: { imagesDir, allowHosts: options.allowHost, timeoutMs: options.fetchTimeoutMs, maxSourceBytes: options.maxSourceBytes },
      normalise, settings, target, ledger,
      dryRun: options.dryRun, force: options.force, retryFailed: options.retryFailed, checksum: options.checksum,
      overwriteUserChanges: options.overwriteUserChanges,
      jobs: options.jobs, concurrency: options.concurrency ?? factory.defaultConcurrency,
      signal: controller.signal, redact: log.redact,
      onRow: (line) => {
        tally.add(line);
        if (options.dryRun) process.stdout.write(describeRow(line, true) + '\n');
        else if (options.verbose) process.stderr.write(describeRow(line, false) + '\n');
      },
    });
    progress?.stop();
    const fatal = result.fatal ? { code: result.fatal.code, message: log.redact(result.fatal.message) } : undefined;
    process.stdout.write(summarise(tally, { ledgerPath: options.dryRun ? undefined : ledgerPath, dryRun: options.dryRun, interrupted: result.interrupted, imagesRead: result.imagesRead, imageBytesRead: result.imageBytesRead, ...(fatal ? { fatal } : {}) }) + '\n');
    if (fatal) return EXIT.fatal;
    if (result.interrupted) return EXIT.interrupted;
    return tally.failed > 0 ? EXIT.someFailed : EXIT.ok;
  } finally {
    progress?.stop();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    await target.close().catch(() => undefined);
    await ledger.close();
  }
}

function idOf(column: string): (fields: Record<string, string>) => string {
  return (fields) => {
    const value = (fields[column] ?? '').trim();
    if (value === '') throw new RowError('missing_value', `the ${column} cell is empty`);
    return value;
  };
}

function defaultLedgerPath(csvPath: string): string {
  const name = basename(csvPath, extname(csvPath));
  return join(dirname(csvPath), `${name}.ledger.jsonl`);
}

function describeRow(line: RowLine, dryRun: boolean): string {
  const who = `row ${line.row}${line.user ? ` ${line.user}` : ''}`;
  if (line.status === 'failed') return `${who}: ${dryRun ? 'would fail' : 'failed'}: ${line.error?.code}: ${line.error?.message}`;
  if (line.status === 'skipped') return `${who}: skip (${line.reason ?? 'unchanged'})`;
  const detail = `${line.edge}px, ${formatBytes(line.bytes ?? 0)}`;
  return `${who}: ${dryRun ? 'would write' : 'ok'} (${detail})`;
}

const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
