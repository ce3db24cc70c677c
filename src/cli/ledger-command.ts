import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import yargs from 'yargs';

import { UsageError } from '../errors.js';
import { readConfigFile } from '../options/config-file.js';
import { createLogger } from '../log.js';
import { resolveSettings, type TargetSettings } from '../options/settings.js';
import { ledgerFor } from '../pipeline/ledger-path.js';
import { DEFAULT_KEEP_RUNS, compactLedger, formatCompact } from '../ledger/tools/compact.js';
import { FAILED_FORMATS, failedRows, parseFailedFormat, writeFailed } from '../ledger/tools/failed.js';
import { formatMerge, mergeLedgers } from '../ledger/tools/merge.js';
import { formatRuns, listRuns } from '../ledger/tools/runs.js';
import { formatHistory, userHistory } from '../ledger/tools/show.js';
import { formatStatus, ledgerStatus } from '../ledger/tools/status.js';
import { checkSheetPath } from '../report/preview/contact-sheet.js';
import { previewFromLedger } from '../report/preview/from-ledger.js';

// `avatar-import ledger <command>`: reading and maintaining a ledger without running an import.
// Each command is a module in src/ledger/tools/ (data + a formatter); this file only parses the
// arguments, finds the ledger and writes the result. Exit codes as for an import: 0 done, 2 a
// usage error (nothing was changed).

const COMMANDS = ['status', 'failed', 'show', 'runs', 'compact', 'merge', 'preview'] as const;

export async function ledgerCommand(args: readonly string[], stdout: Writable = process.stdout): Promise<number> {
  try {
    return await dispatch(args, stdout);
  } catch (error) {
    if (error instanceof ReaderGone) return 0;
    throw error;
  }
}

async function dispatch(args: readonly string[], stdout: Writable): Promise<number> {
  let helped = false;
  const argv = (await yargs([...args])
    .scriptName('avatar-import ledger')
    .usage('Usage: $0 <command> [--ledger FILE | --config F]\n\nRead and maintain an import ledger. Every command streams the file: a ledger of millions of lines takes seconds, not memory.')
    .command('status', 'per target: users ok / failed / skipped by reason, failures by code with an example, the last runs', (y) =>
      y.option('runs', { type: 'number', default: 5, describe: 'runs to list per target' }))
    .command('failed', 'who is failing now, in CSV row order, with the code, the message and what to fix', (y) =>
      y.option('format', { type: 'string', default: 'table', describe: `${FAILED_FORMATS.join(', ')} (csv is safe to open in a spreadsheet)` }))
    .command('show <user>', "one user's history across runs and targets (case-insensitive)")
    .command('runs', 'every run, newest first: when, target, row counts, exit code')
    .command('compact', 'rewrite the ledger keeping what the next runs and rollback need (atomic; refused while a run holds it)', (y) =>
      y.option('keep-runs', { type: 'number', default: DEFAULT_KEEP_RUNS, describe: 'runs whose changes stay complete for rollback' }))
    .command('merge <out> <in..>', 'combine the ledgers of shards or machines into OUT (OUT included when it exists)')
    .command('preview', "a run's contact sheet (HTML), its pictures made again from the sources", (y) =>
      y.option('run', { type: 'string', describe: 'the run (ids: ledger runs)' })
        .option('preview', { type: 'string', describe: 'the sheet to write (FILE.html, pictures in FILE_files/); default avatar-import-<run>.html' })
        .option('jobs', { type: 'number', default: 2, describe: 'photos decoded at once' }))
    .option('ledger', { type: 'string', describe: 'the ledger file' })
    .option('config', { type: 'string', describe: 'the import\'s config file: its ledger is used' })
    .demandCommand(1, `give a command: ${COMMANDS.join(', ')}`)
    .strict()
    .help()
    .alias('help', 'h')
    .exitProcess(false)
    .showHelpOnFail(false)
    .fail((message, error) => {
      throw error instanceof UsageError ? error : new UsageError(message || error?.message || 'invalid arguments');
    })
    .parseAsync()) as Record<string, unknown> & { _: (string | number)[] };
  if (argv['help']) helped = true;
  if (helped) return 0;

  const command = String(argv._[0]);
  const write = writer(stdout);
  if (command === 'merge') {
    if (argv['ledger'] !== undefined || argv['config'] !== undefined) throw new UsageError('ledger merge takes OUT and IN… ledgers, not --ledger or --config');
    await write(formatMerge(await mergeLedgers(String(argv['out']), (argv['in'] as unknown[]).map(String))));
    return 0;
  }
  const ledger = await ledgerPath(argv);
  switch (command) {
    case 'status':
      await write(formatStatus(await ledgerStatus(ledger, { runs: whole(argv, 'runs', 0) })));
      return 0;
    case 'failed':
      await writeFailed(failedRows(ledger), parseFailedFormat(String(argv['format'])), write);
      return 0;
    case 'show': {
      const user = String(argv['user']);
      await write(formatHistory(user, await userHistory(ledger, user)));
      return 0;
    }
    case 'runs':
      await write(formatRuns(await listRuns(ledger)));
      return 0;
    case 'preview': {
      const run = argv['run'];
      if (typeof run !== 'string' || run.trim() === '') throw new UsageError('ledger preview needs --run ID (ids: avatar-import ledger runs)');
      const file = resolve(typeof argv['preview'] === 'string' ? argv['preview'] : `avatar-import-${run}.html`);
      checkSheetPath(file);
      const made = await previewFromLedger({ ledger, run, file, jobs: whole(argv, 'jobs', 1) });
      await write(`${file}: ${made.rows} rows of run ${run}; ${made.identical} avatars made again identical to what was sent, ${made.unavailable} rows without pictures (photo gone, changed or a URL)\n`);
      return 0;
    }
    case 'compact':
      await write(formatCompact(await compactLedger(ledger, { keepRuns: whole(argv, 'keep-runs', 0) })));
      return 0;
    default:
      throw new UsageError(`unknown ledger command "${command}": use one of ${COMMANDS.join(', ')}`);
  }
}

function whole(argv: Record<string, unknown>, name: string, min: number): number {
  const value = argv[name];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) throw new UsageError(`--${name} expects a whole number from ${min} up, got "${String(value)}"`);
  return value;
}

/**
 * The ledger a command reads: --ledger, or the one an import with --config F writes to (the
 * config file read and checked by the import's own loader, so both agree on every key and path).
 */
export async function ledgerPath(argv: Record<string, unknown>): Promise<string> {
  const explicit = argv['ledger'];
  const config = argv['config'];
  if (explicit !== undefined && config !== undefined) throw new UsageError('give --ledger FILE or --config F, not both');
  if (typeof explicit === 'string' && explicit.trim() !== '') return resolve(explicit);
  if (explicit !== undefined) throw new UsageError('--ledger expects a file');
  if (typeof config !== 'string' || config.trim() === '') throw new UsageError('which ledger? give --ledger FILE (or --config F, the import\'s config file)');
  const settings = resolveSettings(new Map(), await readConfigFile(config));
  const csv = settings.input.csv;
  const csvPath = csv === undefined || csv === '-' ? undefined : resolve(csv);
  const paths = new Set<string>();
  for (const wanted of settings.targets) {
    // The default ledger follows the target's id (`dir:/srv/avatars` → inside that folder, a server
    // → a file named after its host: ledger/location.ts), and the id is what the target's factory
    // makes of its options: so the target is built, as the import builds it (reading its
    // credential files, sending nothing; it is never opened).
    const given = wanted.values.run.ledger;
    const id = given !== undefined ? `${wanted.factory.name}:` : await targetId(wanted, config);
    const chosen = await ledgerFor({ target: { name: wanted.factory.name, id }, given, csvPath, env: process.env });
    if (chosen !== undefined) paths.add(chosen.path);
  }
  if (paths.size === 1) return [...paths][0]!;
  if (paths.size === 0) throw new UsageError(`--config ${config} names no ledger and no CSV to put one beside: give --ledger FILE`);
  throw new UsageError(`--config ${config} uses several ledgers (${[...paths].join(', ')}): give --ledger with the one to read`);
}

async function targetId(wanted: TargetSettings, config: string): Promise<string> {
  const { buildTarget } = await import('../pipeline/plan.js');
  // Quiet: a warning about a credential file belongs to the import, not to `ledger status`.
  const log = createLogger({ quiet: true, write: () => undefined });
  try {
    return (await buildTarget(wanted, { runId: 'ledger', env: process.env, log })).id;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    throw new UsageError(`--config ${config}: where the ${wanted.factory.name} target's ledger is depends on the target, which cannot be set up: ${error.message}; give --ledger FILE instead`);
  }
}

/** The reader went away (`ledger failed | head`): stop, as a command killed by SIGPIPE would. */
class ReaderGone extends Error {}

/** stdout.write that waits when the pipe is full, so `ledger failed | head` streams in flat memory. */
function writer(stream: Writable): (text: string) => Promise<void> {
  let gone = false;
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') gone = true;
  });
  return (text) =>
    new Promise<void>((done, fail) => {
      if (gone) return fail(new ReaderGone());
      const drained = stream.write(text, (error) => {
        if (error) fail((error as NodeJS.ErrnoException).code === 'EPIPE' ? new ReaderGone() : error);
      });
      if (drained) done();
      else stream.once('drain', done);
    });
}
