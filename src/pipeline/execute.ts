// execute(plan): the run itself, once the Plan says everything is valid. Order matters: the ledger
// lock is taken before any target is touched (a second run on the same ledger is refused before it
// sends anything), then targets open (their first requests), then rows flow.
import { createRequire } from 'node:module';
import { FatalError } from '../errors.js';
import { EXIT, exitCode } from '../exit-codes.js';
import type { ExitCode, RunOutcome } from '../exit-codes.js';
import { settingsKey } from '../image/normalise.js';
import type { NormaliseOptions } from '../image/normalise.js';
import { Ledger } from '../ledger/ledger.js';
import type { RowLine } from '../ledger/lines.js';
import { backupDirFor } from '../ledger/backups.js';
import type { Logger } from '../log.js';
import { formatBytes } from '../report/format.js';
import { Progress } from '../report/progress.js';
import { summarise } from '../report/summary.js';
import { Tally } from '../report/tally.js';
import { logOwnsStderr, Reports, type EventLog } from '../report/reports.js';
import { countRows } from './count-rows.js';
import { DEFAULT_HALT_RULE } from './misconfiguration.js';
import type { TargetLimits } from '../targets/target.js';
import type { Plan, PlannedTarget } from './plan.js';
import { run } from './run.js';
import { planLeavers } from '../lifecycle/leavers-plan.js';
import { removeLeavers } from '../lifecycle/leavers.js';
import type { RunTarget } from './run.js';

export interface ExecuteIo {
  readonly log: Logger;
  /** The run's event log (--log-file, --log-format json), when asked for. */
  readonly events?: EventLog;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WriteStream;
}

export async function execute(plan: Plan, io: ExecuteIo): Promise<ExitCode> {
  const { log } = io;
  const { run: runValues, output } = plan.values;
  const dryRun = runValues.dryRun;

  // Ledger locks come before any target is touched: a second run on the same ledger is refused
  // before it sends anything. Targets given the same file share one opened Ledger.
  const ledgers = new Map<string, Ledger>();
  // Two signals: `stop` (the first SIGINT/SIGTERM) ends the taking of rows, and work not yet sent
  // is dropped without a line; `targets` is what the targets' requests listen to, never aborted
  // by an interrupt, so a request already sent finishes and its row is recorded (an aborted upload
  // that landed would look like the user's own avatar next time). A second signal exits at once:
  // appends are whole lines, and a torn last line is dropped when the ledger is read.
  const stop = new AbortController();
  const targets = new AbortController();
  let signalled: 'SIGINT' | 'SIGTERM' | undefined;
  let progress: Progress | undefined;
  let ticks: NodeJS.Timeout | undefined;
  let reports: Reports | undefined;
  const onSignal = (signal: 'SIGINT' | 'SIGTERM'): void => {
    const code = signal === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted;
    if (signalled) {
      io.stderr.write(`\n${signal} again: stopping at once (the ledger keeps every line written so far)\n`);
      process.exit(code);
    }
    signalled = signal;
    log.warn(`${signal}: taking no more rows; finishing the requests already sent (${signal === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again to stop at once)`);
    stop.abort(new Error(`interrupted by ${signal}`));
  };
  const onSigint = (): void => onSignal('SIGINT');
  const onSigterm = (): void => onSignal('SIGTERM');
  const opened: PlannedTarget[] = [];
  try {
    for (const planned of plan.targets) {
      const path = planned.ledgerPath;
      if (!ledgers.has(path)) ledgers.set(path, await Ledger.open(path, { readOnly: dryRun, createFolder: planned.ledgerIsDefault }));
    }
    const ledgerOf = (planned: PlannedTarget): Ledger => ledgers.get(planned.ledgerPath)!;
    // --remove-missing: the export read once and the leavers counted against the cap before any
    // target is contacted (a damaged export: exit 2; past the cap: exit 3, nothing sent).
    const leaving = await planLeavers(plan, ledgerOf);
    for (const [id, { leavers, cap }] of leaving) {
      const n = leavers.length;
      log.info(`${id}: --remove-missing: ${n === 0 ? 'no leavers' : `${n} leaver${n === 1 ? '' : 's'} (not in the CSV, avatar set by the tool), ${dryRun ? 'would be' : 'to be'} removed after the import`} (cap ${cap})`);
    }
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigterm);

    // Every target opens (its first requests) at once; one that cannot (a refused token, a server
    // gone) is out of this run and the others go on.
    const fatal = new Map<PlannedTarget, { code: string; message: string }>();
    const lanes: { planned: PlannedTarget; run: RunTarget }[] = [];
    await Promise.all(plan.targets.map(async (planned) => {
      try {
        opened.push(planned);
        // Images a target keeps for rollback go beside the ledger that names them.
        planned.target.features.keepBackupsIn?.(backupDirFor(planned.ledgerPath));
        const limits = await planned.target.open(targets.signal);
        const normalise = normaliseFor(planned, limits);
        if (normalise.maxBytes < planned.values.image.maxBytes) log.info(`${planned.target.id}: --max-bytes capped to ${formatBytes(normalise.maxBytes)}: the target accepts no more`);
        lanes.push({
          planned,
          run: {
            target: planned.target, ledger: ledgerOf(planned), userOf: planned.userOf, normalise, settings: settingsKey(normalise),
            concurrency: planned.concurrency, overwriteUserChanges: planned.values.run.overwriteUserChanges, onlyNew: planned.values.run.onlyNew,
            replaceExisting: planned.values.run.replaceExisting,
            halt: { ...DEFAULT_HALT_RULE, ratio: planned.values.run.haltOnFailRatio },
          },
        });
      } catch (error) {
        if (!(error instanceof FatalError)) throw error;
        fatal.set(planned, { code: error.code, message: log.redact(error.message) });
        // As a single-target run always said it; with several, naming the target that stopped.
        io.stderr.write(`avatar-import: aborted: ${plan.targets.length > 1 ? `${planned.target.id}: ` : ''}${log.redact(error.message)}\n`);
      }
    }));
    // Config order, whatever order the targets opened in.
    lanes.sort((a, b) => plan.targets.indexOf(a.planned) - plan.targets.indexOf(b.planned));
    // No target could open: nothing was done, there is nothing to summarise.
    if (lanes.length === 0) return EXIT.fatal;

    for (const { planned } of lanes) {
      log.info(`${dryRun ? 'dry run: ' : ''}${plan.csvPath ?? 'stdin'} → ${planned.target.id} (id: ${planned.userFrom}, image: ${plan.imageFrom}; ledger: ${planned.ledgerPath})`);
    }
    const common = {
      csv: plan.csvPath ?? '-', imageColumn: plan.imageFrom, imagesDir: plan.source.imagesDir,
      force: runValues.force, retryFailed: runValues.retryFailed, checksum: runValues.checksum, jobs: plan.values.performance.jobs,
    };
    if (!dryRun) {
      // One run line per ledger, naming the targets that write to it.
      for (const [path, ledger] of ledgers) {
        const mine = lanes.filter(({ planned }) => planned.ledgerPath === path);
        if (mine.length === 0) continue;
        await ledger.append({
          type: 'run', run: plan.runId, version: VERSION, started: new Date().toISOString(),
          options: {
            ...common,
            // The first wave's single-target fields, kept for readers of old ledgers.
            ...(mine.length === 1 ? runOptions(mine[0]!) : {}),
            targets: mine.map(runOptions),
          },
        });
      }
    }
    const runReports = await Reports.open(output, {
      run: plan.runId, input: plan.csvPath ?? 'stdin', targets: lanes.map(({ planned }) => planned.target.id), dryRun,
      headers: plan.csv.headers, delimiter: plan.delimiter, encoding: plan.encoding,
      idColumns: lanes.flatMap(({ planned }) => (planned.idColumn === undefined ? [] : [planned.idColumn])), ...(plan.imageColumn === undefined ? {} : { imageColumn: plan.imageColumn }),
      maxPixels: Math.max(...lanes.map(({ run: lane }) => lane.normalise.maxPixels)),
    }, io.events);
    reports = runReports;
    reports.runStart(`${dryRun ? 'dry run: ' : ''}${plan.csvPath ?? 'stdin'} → ${lanes.map(({ planned }) => planned.target.id).join(', ')}`, {
      ...common, dryRun,
      targets: lanes.map((lane) => ({ ...runOptions(lane), ledger: lane.planned.ledgerPath ?? null })),
    });
    // With JSON events on stderr, nothing else may write there; with --json, stdout holds only it.
    const quietStderr = logOwnsStderr(output);
    const rowLines = quietStderr ? undefined : output.json ? io.stderr : dryRun ? io.stdout : output.verbose ? io.stderr : undefined;

    const tally = new Tally();
    const tallies = new Map(plan.targets.map((planned) => [planned.target.id, new Tally()]));
    let total: number | undefined;
    let csvRows: number | undefined;
    const counting = plan.csvPath && plan.format === 'csv' ? countRows(plan.csvPath).then((n) => {
      csvRows = n;
      total = n * Math.max(1, lanes.length);
    }, () => undefined) : Promise.resolve();
    const live = new Progress({
      stream: io.stderr, tally, total: () => total, plainEveryMs: output.progressInterval * 1000, bytesRead: () => runReports.counts.bytesRead,
      ...(output.progress === 'auto' ? {} : { live: output.progress === 'live' }),
    });
    if (output.progress !== 'off' && !output.quiet && !quietStderr && lanes.length > 0) {
      progress = live;
      progress.start();
    }
    ticks = io.events ? setInterval(() => runReports.progress(live.snapshot()), output.progressInterval * 1000) : undefined;
    ticks?.unref();
    const several = plan.targets.length > 1;
    const result = lanes.length === 0
      ? { fatal: new Map(), interrupted: false, cutOff: 0, imagesRead: 0, imageBytesRead: 0 }
      : await run({
        runId: plan.runId, csv: plan.csv, imageOf: plan.imageOf, source: plan.source,
        targets: lanes.map((lane) => lane.run),
        dryRun, force: runValues.force, retryFailed: runValues.retryFailed, checksum: runValues.checksum,
        requirePhoto: runValues.requirePhoto, jobs: plan.values.performance.jobs,
        ...(plan.shard ? { shard: plan.shard } : {}),
        signal: stop.signal, redact: log.redact,
        onRow: (line, previous) => {
          tally.add(line, previous);
          tallies.get(line.target)?.add(line, previous);
          rowLines?.write(describeRow(line, dryRun, several) + '\n');
        },
        report: reports,
      });
    progress?.stop();
    if (ticks) clearInterval(ticks);
    // The leavers, once the rows that are there are done: not on a target that stopped, and not
    // after an interrupt (the next run removes them).
    const leaverLanes = lanes.flatMap(({ planned }) => {
      const leavers = leaving.get(planned.target.id)?.leavers;
      if (!leavers || leavers.length === 0 || result.fatal.has(planned.target.id)) return [];
      return [{ target: planned.target, ledger: ledgerOf(planned), concurrency: planned.concurrency, leavers }];
    });
    const removalFatal = leaverLanes.length === 0 || stop.signal.aborted ? new Map<string, never>() : await removeLeavers({
      runId: plan.runId, lanes: leaverLanes, dryRun, signal: stop.signal, redact: log.redact,
      onRow: async (line, previous) => {
        tally.addLeaver(line, previous);
        tallies.get(line.target)?.addLeaver(line, previous);
        // A removal is always said (an audit trail on cron's mail), a dry run's on standard output.
        if (!dryRun && line.status !== 'skipped') log.info(describeLeaver(line, dryRun, several));
        else rowLines?.write(describeLeaver(line, dryRun, several) + '\n');
        await runReports.leaver({ line, ...(previous ? { previous } : {}) });
      },
    });
    for (const planned of plan.targets) {
      const error = result.fatal.get(planned.target.id) ?? removalFatal.get(planned.target.id);
      if (error) fatal.set(planned, { code: error.code, message: log.redact(error.message) });
    }
    // A signal during the removals interrupts the run as one during the rows does (130/143).
    const wasInterrupted = result.interrupted || (leaverLanes.length > 0 && stop.signal.aborted && fatal.size < lanes.length);

    // How many rows each interrupted target left: the CSV's count (read alongside the run) less
    // the rows that got a line.
    if (wasInterrupted) await counting;
    const outcomes: RunOutcome[] = [];
    const blocks: string[] = [];
    for (const planned of plan.targets) {
      const mine = several ? tallies.get(planned.target.id)! : tally;
      const stopped = fatal.get(planned);
      const interrupted = wasInterrupted && !stopped && signalled
        ? { signal: signalled, ...(csvRows === undefined ? {} : { left: Math.max(0, csvRows - tallies.get(planned.target.id)!.done) }) }
        : false;
      const text = summarise(mine, {
        ledgerPath: dryRun ? undefined : planned.ledgerPath, dryRun, interrupted,
        ...(several ? {} : { imagesRead: result.imagesRead, imageBytesRead: result.imageBytesRead }),
        ...(stopped ? { fatal: stopped } : {}),
        removeMissing: planned.values.run.removeMissing,
      });
      // Several targets: a block each, headed by the target and indented.
      blocks.push(several ? `${planned.target.id}:\n${text.replace(/^/gm, '  ')}` : text);
      outcomes.push({ fatal: stopped !== undefined, signal: interrupted ? interrupted.signal : undefined, newFailures: mine.newFailures, carriedFailures: mine.carriedFailures });
      if (stopped?.code === 'misconfigured') io.stderr.write(`avatar-import: ${planned.target.id}: halted: ${stopped.message}\n`);
    }
    if (several) blocks.push(`images read: ${result.imagesRead} (${formatBytes(result.imageBytesRead)}), once for all ${plan.targets.length} targets`);
    const code = exitCode(outcomes);
    // How the run ended, for `ledger runs` and `ledger status` (a killed run leaves none): one end
    // line per ledger, with the run's exit code and the rows of the targets that write to it.
    if (!dryRun) {
      for (const [path, ledger] of ledgers) {
        const mine = lanes.filter(({ planned }) => planned.ledgerPath === path);
        if (mine.length === 0) continue;
        const counts: Record<string, number> = { ok: 0, skipped: 0, failed: 0 };
        for (const { planned } of mine) {
          const t = several ? tallies.get(planned.target.id)! : tally;
          counts.ok! += t.ok;
          counts.skipped! += t.skipped + t.leaversKept;
          counts.failed! += t.failed;
          if (t.removed > 0) counts.removed = (counts.removed ?? 0) + t.removed;
        }
        await ledger.append({ type: 'end', run: plan.runId, ended: new Date().toISOString(), exit: code, counts });
      }
    }
    const stops = [...fatal].map(([planned, error]) => ({ target: planned.target.id, ...error }));
    const summary = await reports.finish({
      exitCode: code, startedAt: tally.started, finishedAt: Date.now(), ledger: dryRun ? undefined : plan.targets[0]?.ledgerPath,
      ...(dryRun ? {} : { ledgers: Object.fromEntries(plan.targets.flatMap((planned) => (planned.ledgerPath ? [[planned.target.id, planned.ledgerPath]] : []))) }),
      imagesRead: result.imagesRead, imageBytesRead: result.imageBytesRead, interrupted: wasInterrupted,
      ...(stops[0] ? { fatal: stops[0] } : {}),
    }, [
      ...stops.map((stop) => `aborted: ${stop.target}: ${stop.code}: ${stop.message} (its rows not shown were not done)`),
      ...(signalled ? [`interrupted (${signalled}): rows not shown were not done; the same command does them`] : []),
    ]);
    if (output.json) {
      if (!quietStderr) io.stderr.write(blocks.join('\n') + '\n');
      io.stdout.write(JSON.stringify(summary) + '\n');
    } else io.stdout.write(blocks.join('\n') + '\n');
    return code;
  } finally {
    progress?.stop();
    if (ticks) clearInterval(ticks);
    await reports?.abandon();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    await Promise.all(opened.map((planned) => planned.target.close().catch(() => undefined)));
    for (const ledger of ledgers.values()) {
      await ledger.close();
      // A ledger compacts itself on close when nightly lines have doubled it (ledger.ts).
      const compaction = ledger.compaction;
      if (compaction?.result) log.info(`ledger ${ledger.path} compacted: ${compaction.result.before.lines} → ${compaction.result.after.lines} lines`);
      if (compaction?.error) log.warn(`ledger ${ledger.path}: compaction failed, the ledger is unchanged: ${compaction.error instanceof Error ? compaction.error.message : String(compaction.error)}`);
    }
  }
}

/** A target's part of the ledger's run line: what it was run with, never a secret. */
function runOptions({ planned, run: lane }: { planned: PlannedTarget; run: RunTarget }): Record<string, unknown> {
  return {
    target: planned.target.id, ...(planned.idColumn === undefined ? {} : { idColumn: planned.idColumn }),
    ...(planned.values.input.userTemplate ? { userTemplate: planned.values.input.userTemplate } : {}),
    normalise: lane.normalise, settings: lane.settings,
  };
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

function describeLeaver(line: RowLine, dryRun: boolean, several: boolean): string {
  const who = `${several ? `${line.target}: ` : ''}${line.user} (not in the CSV)`;
  if (line.status === 'failed') return `${who}: ${dryRun ? 'would fail' : 'removal failed'}: ${line.error?.code}: ${line.error?.message}`;
  if (line.status === 'skipped') return `${who}: left alone (${line.reason})`;
  const what = line.remote ? `the avatar they had before set again (${line.remote})` : 'avatar cleared';
  return `${who}: ${dryRun ? 'would remove' : line.reason === 'recovered' ? 'removed by an interrupted run, recorded' : 'removed'}: ${what}`;
}

function describeRow(line: RowLine, dryRun: boolean, several: boolean): string {
  const who = `${several ? `${line.target}: ` : ''}row ${line.row}${line.user ? ` ${line.user}` : ''}`;
  if (line.status === 'failed') return `${who}: ${dryRun ? 'would fail' : 'failed'}: ${line.error?.code}: ${line.error?.message}`;
  if (line.status === 'skipped') return `${who}: skip (${line.reason ?? 'unchanged'})`;
  const detail = `${line.edge}px, ${formatBytes(line.bytes ?? 0)}`;
  return `${who}: ${dryRun ? 'would write' : 'ok'} (${detail})`;
}

const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
