// `avatar-import rollback --run RUN_ID [--ledger FILE | --config F] [--dry-run] [--user ID …] [--force]`
// plus the import's own target flags (`--target`, `--homeserver`, `--token-file` …) and
// environment variables for the credentials: the targets are built by the same factories from the
// same declarations, so a rollback reaches a server exactly as the import did. Where a target is
// comes from the run's ledger line when no flag or config file says it (`dir:/srv/avatars` gives
// `--out /srv/avatars`); secrets never are in the ledger, so they come as for an import.
import { createRequire } from 'node:module';
import { UsageError } from '../../errors.js';
import { EXIT } from '../../exit-codes.js';
import { Ledger } from '../../ledger/ledger.js';
import { backupDirFor } from '../../ledger/backups.js';
import type { RowLine } from '../../ledger/lines.js';
import { createLogger } from '../../log.js';
import { resolveSettings } from '../../options/settings.js';
import { buildTarget, newRunId, targetInput } from '../../pipeline/plan.js';
import type { Target } from '../../targets/target.js';
import type { Command } from './command.js';

/** The option that names where each target type is: filled from the target id the run recorded. */
const LOCATION: Readonly<Record<string, string>> = { dir: 'out', matrix: 'homeserver', authgear: 'endpoint', zulip: 'site' };

const USAGE = 'rollback --run RUN_ID [--ledger FILE | --config F] [--dry-run] [--user ID …] [--force]';

export const rollbackCommand: Command = {
  name: 'rollback',
  usage: USAGE,
  summary: 'restore the avatars one run replaced (avatar-import rollback --help)',
  run: async (args, session) => {
    const { own, rest } = splitOwn(args);
    if (own.help) {
      process.stdout.write(`Usage: avatar-import ${USAGE} [target options as for the import]\n\n` +
        'Restore, for every user that run changed, the avatar they had before it, on the target it wrote to.\n' +
        'A user whose avatar changed since is skipped (changed_since_run) unless --force.\n' +
        'Credentials: the same *-file options and environment variables as the import.\n');
      return EXIT.ok;
    }
    if (own.run === undefined || own.run.trim() === '') throw new UsageError('rollback needs --run RUN_ID (ids: avatar-import ledger runs)');
    const { parseArgs } = await import('../parser.js');
    const invocation = await parseArgs(rest);
    if (!invocation) return EXIT.ok;
    if (invocation.flags.has('csv')) throw new UsageError(`rollback takes no CSV (got ${String(invocation.flags.get('csv'))}): it restores what run ${own.run} replaced`);
    const file = invocation.config === undefined ? undefined : await (await import('../../options/config-file.js')).readConfigFile(invocation.config);
    const { ledgerPath } = await import('../ledger-command.js');
    const ledgerFile = await ledgerPath({ ledger: invocation.flags.get('ledger'), config: invocation.config });
    const flagged = resolveSettings(invocation.flags, file);
    const log = createLogger({ quiet: flagged.output.quiet, verbose: flagged.output.verbose });
    session.log = log;

    const { planRollback, ROLLBACK_OF } = await import('../../lifecycle/rollback-plan.js');
    const plan = await planRollback(ledgerFile, own.run, own.users.length > 0 ? new Set(own.users) : undefined);
    const runId = newRunId();

    // The targets the run wrote to, built by their factories: flags and config file as given, the
    // location from the ledger where neither names it.
    const flags = new Map(invocation.flags);
    const types = [...new Set(plan.targets.map((id) => id.slice(0, id.indexOf(':'))))];
    if (!flags.has('target') && !file) flags.set('target', types.join(','));
    const settings = resolveSettings(flags, file);
    const built = new Map<string, { target: Target; concurrency: number }>();
    for (const id of plan.targets) {
      const type = id.slice(0, id.indexOf(':'));
      const wanted = settings.targets.filter((t) => t.factory.name === type);
      if (wanted.length === 0) throw new UsageError(`run ${own.run} wrote to ${id}: give --target ${type} (with its options) or the import's --config`);
      let found: Target | undefined;
      for (const candidate of wanted) {
        const location = LOCATION[type];
        const options = location && candidate.options[location] === undefined ? { ...candidate.options, [location]: id.slice(id.indexOf(':') + 1) } : candidate.options;
        const target = await buildTarget({ ...candidate, options }, { runId, env: process.env, log });
        if (target.id === id) {
          found = target;
          built.set(id, { target, concurrency: targetInput(candidate, { runId, env: process.env, log }).context.pacing.concurrency });
          break;
        }
      }
      if (!found) throw new UsageError(`run ${own.run} wrote to ${id}, which the options given do not reach; give that target's options (or the import's --config)`);
      // Kept images are read from (and what the rollback replaces kept in) the ledger's backup/.
      found.features.keepBackupsIn?.(backupDirFor(ledgerFile));
      if (!found.features.restore || !found.features.remove) throw new UsageError(`rollback is not implemented for ${type} targets yet (run ${own.run} wrote to ${id}); nothing was changed`);
    }

    const dryRun = flagged.run.dryRun;
    const ledger = await Ledger.open(ledgerFile, { readOnly: dryRun });
    const controller = new AbortController();
    const onSignal = (): void => {
      if (controller.signal.aborted) process.exit(EXIT.interrupted);
      log.warn('interrupted: finishing the users in flight (Ctrl-C again to stop at once)');
      controller.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const opened: Target[] = [];
    try {
      for (const { target } of built.values()) {
        opened.push(target);
        await target.open(controller.signal);
      }
      if (!dryRun) {
        await ledger.append({
          type: 'run', run: runId, version: VERSION, started: new Date().toISOString(),
          options: { [ROLLBACK_OF]: own.run, targets: plan.targets.map((target) => ({ target })), force: own.force, ...(own.users.length > 0 ? { users: own.users } : {}) },
        });
      }
      const { rollback } = await import('../../lifecycle/rollback.js');
      const verbose = flagged.output.verbose || dryRun;
      const result = await rollback({
        runId, plan, targets: built, ledger, force: own.force, dryRun, signal: controller.signal, redact: log.redact,
        onRow: (line) => {
          if (verbose || line.status === 'failed') (dryRun ? process.stdout : process.stderr).write(describe(line, dryRun) + '\n');
        },
      });
      if (!dryRun) await ledger.append({ type: 'end', run: runId, ended: new Date().toISOString(), exit: result.exit, counts: { ...result.counts } });
      const { ok, skipped, failed } = result.counts;
      process.stdout.write(`${dryRun ? 'dry run: ' : ''}rollback of run ${own.run}${dryRun ? '' : ` (run ${runId})`}: ${plan.changes.length} users changed by it; ${ok} ${dryRun ? 'would be restored' : 'restored'}, ${skipped} skipped, ${failed} failed\n`);
      if (result.exit === EXIT.fatal) process.stderr.write('avatar-import: aborted: a target stopped answering; run the same rollback again to finish\n');
      return result.exit;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await Promise.all(opened.map((target) => target.close().catch(() => undefined)));
      await ledger.close();
    }
  },
};

const VERSION = (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;

function describe(line: RowLine, dryRun: boolean): string {
  const who = `${line.target}: ${line.user}`;
  if (line.status === 'failed') return `${who}: failed: ${line.error?.code}: ${line.error?.message}`;
  if (line.status === 'skipped') return `${who}: skip (${line.reason})`;
  return `${who}: ${dryRun ? 'would restore' : 'restored'} ${line.remote === '' ? '(none)' : (line.remote ?? '')}`.trimEnd();
}

/** --run, --user (repeatable), --force and --help are the rollback's own; the rest are the import's. */
function splitOwn(args: readonly string[]): { own: { run?: string; users: string[]; force: boolean; help: boolean }; rest: string[] } {
  const own: { run?: string; users: string[]; force: boolean; help: boolean } = { users: [], force: false, help: false };
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [name, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const next = inline ?? args[++i];
      if (next === undefined || (inline === undefined && next.startsWith('--'))) throw new UsageError(`${name} expects a value`);
      return next;
    };
    if (name === '--run') own.run = value();
    else if (name === '--user') own.users.push(value());
    else if (name === '--force') own.force = true;
    else if (name === '--help' || name === '-h') own.help = true;
    else rest.push(arg);
  }
  return { own, rest };
}
