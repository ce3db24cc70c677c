import pino from 'pino';

// `--log-file FILE` and `--log-format text|json`: the run's events through pino, one line each,
// appended. JSON lines carry `time`, `level`, `msg`, `run`, `event` and the event's own fields, for
// log shippers; text lines are the same events for people. Every line passes through `redact` (the
// run's one secret mask, src/log.ts) just before it is written, so no path into the log can skip it.

export type LogFormat = 'text' | 'json';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface EventLogOptions {
  /** Appended to; undefined: standard error. */
  readonly file?: string;
  readonly format: LogFormat;
  readonly run: string;
  /** Log debug events too (--verbose). */
  readonly verbose: boolean;
  readonly redact: (text: string) => string;
}

export interface EventLog {
  /** One event: `event` names its kind (run_start, progress, row, warning, summary …). */
  write(level: LogLevel, event: string, msg: string, fields?: Readonly<Record<string, unknown>>): void;
  /** Flushes and closes the file. */
  close(): void;
}

export function openEventLog(options: EventLogOptions): EventLog {
  // Synchronous writes: a log line is on disk before the row after it starts, so a kill -9
  // loses nothing the ledger has, and the process can exit without waiting for a flush.
  const destination = pino.destination({ dest: options.file ?? 2, append: true, sync: true, mkdir: false });
  const stream = options.format === 'json' ? destination : { write: (line: string) => destination.write(asText(line)) };
  const logger = pino(
    {
      level: options.verbose ? 'debug' : 'info',
      base: { run: options.run },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      hooks: { streamWrite: (line) => options.redact(line) },
    },
    stream,
  );
  return {
    write: (level, event, msg, fields = {}) => logger[level]({ event, ...fields }, msg),
    close: () => {
      if (options.file !== undefined) destination.end();
    },
  };
}

const HIDDEN_IN_TEXT = new Set(['time', 'level', 'msg', 'run', 'event']);

/** A JSON line as people read it: time, level, message, then the event's fields as key=value. */
function asText(json: string): string {
  const entry = JSON.parse(json) as Record<string, unknown>;
  const fields = Object.entries(entry)
    .filter(([key, value]) => !HIDDEN_IN_TEXT.has(key) && value !== undefined && typeof value !== 'object')
    .map(([key, value]) => `${key}=${typeof value === 'string' && /[\s"=]/.test(value) ? JSON.stringify(value) : String(value)}`);
  return `${String(entry['time'])} ${String(entry['level']).toUpperCase().padEnd(5)} ${String(entry['msg'] ?? '')}${fields.length ? `  ${fields.join(' ')}` : ''}\n`;
}
