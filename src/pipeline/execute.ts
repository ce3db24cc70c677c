// execute(plan): the run itself, once the Plan says everything is valid. Order matters: the ledger
// lock is taken before any target is touched (a second run on the same ledger is refused before it
// sends anything), then targets open (their first requests), then rows flow.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { EXIT, worst } from '../exit-codes.js';
import type { ExitCode } from '../exit-codes.js';
import { settingsKey } from '../image/normalise.js';
import type { NormaliseOptions } from '../image/normalise.js';
import { Ledger } from '../ledger/ledger.js';
import type { RowLine } from '../ledger/lines.js';
import type { Logger } from '../log.js';
import { formatBytes } from '../report/format.js';
import { Progress } from '../report/progress.js';
import { summarise } from '../report/summary.js';
import { Tally } from '../report/tally.js';
import { countRows } from './count-rows.js';
import type { TargetLimits } from '../targets/target.js';
import type { Plan, PlannedTarget } from './plan.js';
import { run } from './run.js';

export interface ExecuteIo {
  readonly log: Logger;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WriteStream;
}

export async function execute(plan: Plan, io: ExecuteIo): Promise<ExitCode> {
  const { log } = io;
  const { run: runValues, output } = plan.values;
  if (plan.targets.length !== 1) throw new UsageError('several targets in one run are not supported yet');
  const planned = plan.targets[0]!;
  const { target } = planned;
  const dryRun = runValues.dryRun;

  // The ledger lock comes before the target is touched: a second run on the same ledger is
  // refused before it sends anything.
  const ledger = planned.ledgerPath
    ? await Ledger.open(planned.ledgerPath, { readOnly: dryRun })
    : await Ledger.open(join(plan.source.imagesDir, '.avatar-import-dry-run.ledger.jsonl'), { readOnly: true });
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
    const normalise = normaliseFor(planned, limits);
    if (normalise.maxBytes < planned.values.image.maxBytes) log.info(`--max-bytes capped to ${formatBytes(normalise.maxBytes)}: the target accepts no more`);
    const settings = settingsKey(normalise);

    log.info(`${dryRun ? 'dry run: ' : ''}${plan.csvPath ?? 'stdin'} → ${target.id} (id: ${planned.userFrom}, image: ${plan.imageColumn}; ledger: ${planned.ledgerPath ?? 'none'})`);
    if (!dryRun) {
      await ledger.append({
        type: 'run', run: plan.runId, version: VERSION, started: new Date().toISOString(),
        options: {
          csv: plan.csvPath ?? '-', target: target.id, idColumn: planned.userFrom, imageColumn: plan.imageColumn,
          ...(planned.values.input.userTemplate ? { userTemplate: planned.values.input.userTemplate } : {}),
          imagesDir: plan.source.imagesDir, normalise, settings, force: runValues.force, retryFailed: runValues.retryFailed,
          checksum: runValues.checksum, jobs: plan.values.performance.jobs,
        },
      });
    }

    const tally = new Tally();
    let total: number | undefined;
    if (plan.csvPath) void countRows(plan.csvPath).then((n) => (total = n), () => undefined);
    if (output.progress !== 'off' && !output.quiet) {
      progress = new Progress({ stream: io.stderr, tally, total: () => total, ...(output.progress === 'auto' ? {} : { live: output.progress === 'live' }) });
      progress.start();
    }
    const result = await run({
      runId: plan.runId, csv: plan.csv, userOf: planned.userOf, imageColumn: plan.imageColumn,
      source: plan.source,
      normalise, settings, target, ledger,
      dryRun, force: runValues.force, retryFailed: runValues.retryFailed, checksum: runValues.checksum,
      overwriteUserChanges: planned.values.run.overwriteUserChanges,
      jobs: plan.values.performance.jobs, concurrency: planned.concurrency,
      signal: controller.signal, redact: log.redact,
      onRow: (line) => {
        tally.add(line);
        if (dryRun) io.stdout.write(describeRow(line, true) + '\n');
        else if (output.verbose) io.stderr.write(describeRow(line, false) + '\n');
      },
    });
    progress?.stop();
    const fatal = result.fatal ? { code: result.fatal.code, message: log.redact(result.fatal.message) } : undefined;
    io.stdout.write(summarise(tally, { ledgerPath: dryRun ? undefined : planned.ledgerPath, dryRun, interrupted: result.interrupted, imagesRead: result.imagesRead, imageBytesRead: result.imageBytesRead, ...(fatal ? { fatal } : {}) }) + '\n');
    if (fatal) return EXIT.fatal;
    if (result.interrupted) return EXIT.interrupted;
    return worst([tally.failed > 0 ? EXIT.someFailed : EXIT.ok]);
  } finally {
    progress?.stop();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    await target.close().catch(() => undefined);
    await ledger.close();
  }
}

/** The image settings for one target, now that it has said what it accepts. */
function normaliseFor(planned: PlannedTarget, limits: TargetLimits): NormaliseOptions {
  const image = planned.values.image;
  const normalise: NormaliseOptions = {
    size: planned.edge,
    minSize: image.minSize,
    maxBytes: Math.min(image.maxBytes, limits.maxBytes ?? Infinity),
    quality: image.quality,
    crop: image.crop,
    background: image.background,
    allowSvg: image.allowSvg,
    maxPixels: image.maxPixels,
  };
  return normalise;
}

function describeRow(line: RowLine, dryRun: boolean): string {
  const who = `row ${line.row}${line.user ? ` ${line.user}` : ''}`;
  if (line.status === 'failed') return `${who}: ${dryRun ? 'would fail' : 'failed'}: ${line.error?.code}: ${line.error?.message}`;
  if (line.status === 'skipped') return `${who}: skip (${line.reason ?? 'unchanged'})`;
  const detail = `${line.edge}px, ${formatBytes(line.bytes ?? 0)}`;
  return `${who}: ${dryRun ? 'would write' : 'ok'} (${detail})`;
}

const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
