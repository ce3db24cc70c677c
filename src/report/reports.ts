import { basename, dirname, resolve } from 'node:path';
import { stat } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import type { RowLine } from '../ledger/lines.js';
import type { RowEvent, RowReporter } from './events.js';
import type { EventLog, LogFormat } from './event-log.js';
export type { EventLog } from './event-log.js';
import type { FailedRowsReport } from './failed/failed-rows.js';
import { jsonSummary, type JsonSummary, type JsonSummaryContext } from './json-summary.js';
import { checkSheetPath, ContactSheet } from './preview/contact-sheet.js';
import { displayColumns } from './preview/columns.js';
import { sourceThumbnail } from './preview/thumbnail.js';
import type { ProgressSnapshot } from './progress.js';
import { RunCounts } from './run-counts.js';

// Everything a run reports besides the terminal: the contact sheet, the failed-rows file, the
// event log and the counts behind --json. The pipeline hands each finished row to `row()` once;
// this fans it out. Options are checked by `checkReportOptions` before anything is read or sent.
// pino, exceljs and iconv-lite load only when their report is asked for: every cron run pays for
// what start-up loads (exceljs alone takes longer to load than the rest of the CLI).

export interface ReportOptions {
  /** --preview FILE.html */
  readonly preview?: string;
  /** --report FILE.csv|FILE.xlsx */
  readonly report?: string;
  /** --log-file FILE */
  readonly logFile?: string;
  /** --log-format */
  readonly logFormat: LogFormat;
  readonly verbose: boolean;
}

/** What the reports need to know about the run before its first row. */
export interface RunFacts {
  readonly run: string;
  /** Shown in titles: the CSV's path, or "stdin". */
  readonly input: string;
  readonly targets: readonly string[];
  readonly dryRun: boolean;
  readonly headers: readonly string[];
  readonly delimiter: string;
  /** The input's encoding as iconv-lite names it. */
  readonly encoding: string;
  /** Columns not worth showing on a card (the id and photo columns). */
  readonly idColumns: readonly string[];
  readonly imageColumn?: string;
  readonly maxPixels: number;
}

/** Up-front checks (exit 2 before anything is read or sent). */
export async function checkReportOptions(options: ReportOptions): Promise<void> {
  if (options.preview !== undefined) {
    checkSheetPath(options.preview);
    await folderExists(options.preview, '--preview');
  }
  if (options.report !== undefined) await (await import('./failed/failed-rows.js')).checkReportPath(options.report);
  if (options.logFile !== undefined) await folderExists(options.logFile, '--log-file');
}

async function folderExists(file: string, option: string): Promise<void> {
  const folder = dirname(resolve(file));
  if (!(await stat(folder).catch(() => undefined))?.isDirectory()) throw new UsageError(`${option} ${file}: the folder ${folder} does not exist`);
  if ((await stat(file).catch(() => undefined))?.isDirectory()) throw new UsageError(`${option} ${file} is a folder; expected a file name`);
}

export class Reports implements RowReporter {
  readonly counts = new RunCounts();
  readonly log: EventLog | undefined;
  readonly #verbose: boolean;
  readonly #sheet: ContactSheet | undefined;
  readonly #failed: FailedRowsReport | undefined;
  readonly #facts: RunFacts;
  readonly #files: Record<string, string> = {};
  #finished = false;

  private constructor(options: ReportOptions, facts: RunFacts, log: EventLog | undefined, sheet: ContactSheet | undefined, failed: FailedRowsReport | undefined) {
    this.#verbose = options.verbose;
    this.#facts = facts;
    this.log = log;
    this.#sheet = sheet;
    this.#failed = failed;
    if (sheet) this.#files['preview'] = sheet.file;
    if (options.report) this.#files['report'] = resolve(options.report);
    if (options.logFile) this.#files['log'] = resolve(options.logFile);
  }

  /** `log`: the run's event log (openRunLog), when one was asked for. */
  static async open(options: ReportOptions, facts: RunFacts, log: EventLog | undefined): Promise<Reports> {
    const sheet = options.preview === undefined ? undefined : await ContactSheet.open({
      file: resolve(options.preview),
      columns: displayColumns(facts.headers, [...facts.idColumns, ...(facts.imageColumn ? [facts.imageColumn] : [])]),
      targets: facts.targets.length,
      meta: {
        title: `${facts.dryRun ? 'dry run: ' : ''}${basename(facts.input)} → ${facts.targets.join(', ')}`,
        facts: [`run ${facts.run}`, `started ${new Date().toISOString()}`, facts.input],
        dryRun: facts.dryRun,
      },
    });
    const failed = options.report === undefined ? undefined : new (await import('./failed/failed-rows.js')).FailedRowsReport({
      file: options.report, headers: facts.headers, delimiter: facts.delimiter, encoding: facts.encoding,
      ...(facts.imageColumn ? { imageColumn: facts.imageColumn } : {}),
      severalTargets: facts.targets.length > 1,
    });
    return new Reports(options, facts, log, sheet, failed);
  }

  /** Whether rows should hand over a small copy of their source photo (the sheet shows it). */
  get wantsSourcePreview(): boolean {
    return this.#sheet !== undefined;
  }

  /** The source photo's thumbnail, made while the row holds its bytes (inside a --jobs slot). */
  sourcePreview(bytes: Buffer): Promise<Buffer | undefined> {
    return this.#sheet ? sourceThumbnail(bytes, this.#facts.maxPixels) : Promise.resolve(undefined);
  }

  /** Synchronous (no promise) when no file follows the rows: a nightly run hands over 100 000. */
  row(event: RowEvent): void | Promise<void> {
    this.counts.row(event);
    if (this.#verbose) this.log?.write(event.line.status === 'failed' ? 'warn' : 'info', 'row', describe(event.line), rowFields(event.line));
    if (this.#sheet === undefined && this.#failed === undefined) return;
    return this.#rowToFiles(event);
  }

  async #rowToFiles(event: RowEvent): Promise<void> {
    await this.#sheet?.row(event);
    await this.#failed?.row(event);
  }

  /**
   * A leaver's line (--remove-missing): counted, and logged (a removal always, as an audit trail),
   * but not a card of the contact sheet nor a row of the failed-rows file, which show the CSV.
   */
  leaver(event: RowEvent): void {
    this.counts.row(event);
    if (this.#verbose || event.line.status !== 'skipped') this.log?.write(event.line.status === 'failed' ? 'warn' : 'info', 'leaver', describe(event.line), rowFields(event.line));
  }

  /** The run's first event: what it will do (the plan's options, never secrets). */
  runStart(msg: string, plan: Readonly<Record<string, unknown>>): void {
    this.log?.write('info', 'run_start', msg, { plan });
  }

  progress(snapshot: ProgressSnapshot): void {
    this.log?.write('info', 'progress', `${snapshot.done}${snapshot.total ? `/${snapshot.total}` : ''} rows`, { ...snapshot });
  }

  /**
   * The run ended without a summary (an unexpected error): the sheet is closed as it is (a note
   * says so), the failed-rows file is not written and its temporary files are removed.
   */
  async abandon(): Promise<void> {
    if (this.#finished) return;
    this.#finished = true;
    await this.#sheet?.close(['the run ended with an error before its end: rows not shown were not done']).catch(() => undefined);
    await this.#failed?.discard().catch(() => undefined);
  }

  /**
   * Closes the sheet and writes the failed-rows file, logs the summary and returns it (what
   * --json prints). `notes` go at the bottom of the sheet (interrupted, aborted …).
   */
  async finish(context: Omit<JsonSummaryContext, 'files' | 'run' | 'dryRun'>, notes: readonly string[] = []): Promise<JsonSummary> {
    this.#finished = true;
    await this.#sheet?.close(notes);
    await this.#failed?.close();
    const summary = jsonSummary(this.counts, { ...context, run: this.#facts.run, dryRun: this.#facts.dryRun, files: this.#files });
    const { ok, skipped, failed } = summary.status;
    // Every line already names the run.
    const { run: _run, ...fields } = summary;
    this.log?.write(context.fatal ? 'error' : failed > 0 ? 'warn' : 'info', 'summary', `${summary.rows} rows: ${ok} ok, ${skipped} skipped, ${failed} failed`, fields);
    return summary;
  }
}

/**
 * The event log, when --log-file or --log-format json asks for one; `redact` is the run's one
 * secret mask (the Logger's).
 */
export async function openRunLog(options: ReportOptions, run: string, redact: (text: string) => string): Promise<EventLog | undefined> {
  if (options.logFile === undefined && options.logFormat !== 'json') return undefined;
  const { openEventLog } = await import('./event-log.js');
  return openEventLog({ ...(options.logFile ? { file: resolve(options.logFile) } : {}), format: options.logFormat, run, verbose: options.verbose, redact });
}

/** Whether the event log is standard error's only writer (JSON there, no file). */
export function logOwnsStderr(options: ReportOptions): boolean {
  return options.logFormat === 'json' && options.logFile === undefined;
}

/**
 * A Logger that also writes its messages to the event log (as `message` and `warning` events).
 * With JSON on standard error the event log is the only writer there, so `terminal` should then be
 * a Logger that prints nothing (it still holds the secret masks).
 */
export function teeLogger(terminal: Logger, log: EventLog | undefined): Logger {
  if (!log) return terminal;
  return {
    info: (message) => { terminal.info(message); log.write('info', 'message', message); },
    warn: (message) => { terminal.warn(message); log.write('warn', 'warning', message); },
    debug: (message) => { terminal.debug(message); log.write('debug', 'debug', message); },
    addSecret: (secret) => terminal.addSecret(secret),
    redact: (text) => terminal.redact(text),
  };
}

function describe(line: RowLine): string {
  const who = `row ${line.row}${line.user ? ` ${line.user}` : ''}`;
  if (line.status === 'failed') return `${who}: failed: ${line.error?.code}: ${line.error?.message}`;
  if (line.status === 'skipped') return `${who}: skipped (${line.reason ?? 'unchanged'})`;
  if (line.status === 'removed') return `${line.user}: ${line.reason === 'dry_run' ? 'would remove' : 'removed'} (not in the CSV)`;
  return `${who}: ${line.reason === 'dry_run' ? 'would write' : 'ok'}`;
}

function rowFields(line: RowLine): Record<string, unknown> {
  return {
    row: line.row, ...(line.line === undefined ? {} : { line: line.line }), user: line.user, target: line.target, status: line.status,
    ...(line.reason ? { reason: line.reason } : {}),
    ...(line.error ? { code: line.error.code, message: line.error.message, ...(line.error.retryable ? { retryable: true } : {}) } : {}),
    ...(line.bytes === undefined ? {} : { bytes: line.bytes, edge: line.edge }),
    ...(line.remote === undefined ? {} : { remote: line.remote }),
  };
}
