// The default command: `avatar-import [csv] [options]`. Arguments and config file become typed
// settings, settings become a Plan (everything checked, nothing sent), and the Plan is executed.
import { createLogger } from '../../log.js';
import { resolveSettings } from '../../options/settings.js';
import { execute } from '../../pipeline/execute.js';
import { newRunId, plan } from '../../pipeline/plan.js';
import { checkReportOptions, logOwnsStderr, openRunLog, teeLogger } from '../../report/reports.js';
import { parseArgs } from '../parser.js';
import type { Session } from './command.js';

export async function importCommand(args: readonly string[], session: Session): Promise<number> {
  const invocation = await parseArgs(args);
  if (!invocation) return 0;
  // The YAML parser loads only for --config / --print-config: start-up is paid by every cron run.
  const file = invocation.config === undefined ? undefined : await (await import('../../options/config-file.js')).readConfigFile(invocation.config);
  const settings = resolveSettings(invocation.flags, file);
  if (invocation.printConfig) {
    const { printConfig } = await import('../../options/print.js');
    process.stdout.write(printConfig(settings));
    return 0;
  }
  const { output } = settings;
  // Before anything is read: the report and log files' folders exist, the names are usable.
  await checkReportOptions(output);
  // JSON events on stderr: the terminal's lines would break them, so the Logger only masks.
  const terminal = createLogger({ quiet: output.quiet, verbose: output.verbose, ...(logOwnsStderr(output) ? { write: () => {} } : {}) });
  session.log = terminal;
  const runId = newRunId();
  const events = await openRunLog(output, runId, terminal.redact);
  try {
    const log = teeLogger(terminal, events);
    session.log = log;
    for (const { name, takenBy } of settings.unused) log.warn(`--${name} is an option of --target ${takenBy.join(' or ')}, which this run does not send to: ignored`);
    const ready = await plan(settings, { env: process.env, log, stdin: process.stdin, runId });
    return await execute(ready, { log, stdout: process.stdout, stderr: process.stderr, ...(events ? { events } : {}) });
  } finally {
    events?.close();
  }
}
