// The import's command line, built from the option declarations (src/options/schema.ts): one flag
// per option, grouped by area in --help. yargs only splits the words; it applies no defaults and no
// rules, so a flag and a config-file key go through the same declaration and the same message,
// and "given on the command line" can be told from "defaulted" (flags win over the file).
import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import type { OptionDecl, OptionTable } from '../options/declare.js';
import { areas, invocationArea, targetOptions } from '../options/schema.js';
import { nearest } from '../options/suggest.js';
import type { Flags } from '../options/settings.js';
import { commands } from './commands/index.js';

const EXAMPLES: [string, string][] = [
  ['$0 people.csv --target dir --out avatars/', 'square JPEGs for everyone in people.csv, into avatars/'],
  ['$0 people.csv --out avatars/ --dry-run', 'check every row and image, write nothing'],
  ['$0 people.csv --out avatars/ --retry-failed', 'go on after fixing the inputs of failed rows'],
  ['$0 --config nightly.yaml', 'a nightly job: every option (and several targets) from one file'],
  ['$0 --config nightly.yaml --print-config', 'what that job would run with, merged and checked'],
  ['$0 - --ledger hr.ledger.jsonl --out avatars/ < people.csv', 'read the CSV from stdin'],
];

export interface Invocation {
  /** Options given on the command line, by name; nothing defaulted. */
  readonly flags: Flags;
  readonly config?: string;
  readonly printConfig: boolean;
}

function buildParser(yargs: typeof import('yargs').default, args: readonly string[]): Argv {
  let parser = yargs([...args])
    .scriptName('avatar-import')
    .usage('Usage: $0 [csv] [options]\n       $0 <command> …\n\nGive every person in an HR export a clean, upright, square avatar.\nThe CSV needs a user column and an image column (a path relative to --images-dir, or an http(s) URL).')
    .command('$0 [csv]', false, (command) => command.positional('csv', { type: 'string', describe: 'the HR export (CSV); - reads standard input' }))
    .strict()
    .help()
    .alias('help', 'h')
    .version()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((message, error) => {
      throw error instanceof UsageError ? error : new UsageError(withGuess(message || error?.message || 'invalid arguments'));
    });
  const declare = (title: string, table: OptionTable): void => {
    const names = Object.keys(table).filter((name) => name !== 'csv');
    parser = parser.group(names, `${title}:`);
    for (const name of names) parser = parser.option(name, yargsOption(table[name]!));
  };
  for (const area of Object.values(areas)) declare(area.title, area.options);
  const shared = Object.fromEntries([...targetOptions()].map(([name, { decl, factories }]) => [name, { ...decl, help: `${factories.map((f) => f.name).join(', ')}: ${helpOf(decl)}` }]));
  declare('Target options', shared as OptionTable);
  declare(invocationArea.title, invocationArea.options);
  for (const command of commands) parser = parser.command(command.usage, command.summary);
  for (const [command, description] of EXAMPLES) parser = parser.example(command, description);
  return parser;
}

/** yargs's "Unknown argument: ot" with the option most likely meant, as config keys get it:
 * "Unknown argument: ot (did you mean --out?)". */
function withGuess(message: string): string {
  const unknown = /^Unknown arguments?: (.+)$/.exec(message);
  if (!unknown) return message;
  // yargs names a dashed word twice, as written and camel-cased (remove-mising, removeMising).
  const all = unknown[1]!.split(', ');
  const words = all.filter((word) => !/[A-Z]/.test(word) || !all.includes(word.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)));
  const names = [...Object.values(areas).flatMap((area) => Object.keys(area.options)), ...targetOptions().keys(), ...Object.keys(invocationArea.options), 'help', 'version'];
  const guesses = words.flatMap((word) => {
    const guess = nearest(word, names);
    return guess === undefined ? [] : [`--${guess}`];
  });
  const said = `Unknown argument${words.length > 1 ? 's' : ''}: ${words.join(', ')}`;
  return guesses.length === 0 ? said : `${said} (did you mean ${guesses.join(', ')}?)`;
}

function yargsOption(decl: OptionDecl<unknown>) {
  const shownDefault = decl.defaultDoc?.replace(/`/g, '') ?? (decl.default === undefined ? undefined : Array.isArray(decl.default) ? decl.default.join(',') : String(decl.default));
  return {
    type: decl.kind === 'boolean' ? ('boolean' as const) : ('string' as const),
    // The default is shown by yargs: a "(default: …)" in the help text would say it twice.
    describe: (shownDefault === undefined ? helpOf(decl) : helpOf(decl).replace(/\s*\(default: [^)]*\)$/, '')) + (decl.choices ? ` (${decl.choices.join(', ')})` : ''),
    ...(shownDefault === undefined || decl.kind === 'boolean' ? {} : { defaultDescription: shownDefault }),
    ...(decl.alias ? { alias: decl.alias } : {}),
    ...(decl.arg ? { requiresArg: true } : {}),
  };
}

/** The --help line: `help`, or the doc's first sentence without markdown. */
export function helpOf(decl: OptionDecl<unknown>): string {
  if (decl.help) return decl.help;
  const plain = decl.doc.replace(/\*\*|`/g, '').replace(/\\\|/g, '|').replace(/\[([^\]]+)\]\([^)]*\)/g, '$1');
  return plain.split(/(?<=\.)\s/)[0]!.replace(/\.$/, '');
}

/** Throws UsageError. Returns undefined when --help or --version printed. */
export async function parseArgs(args: readonly string[]): Promise<Invocation | undefined> {
  return parseSimple(args) ?? (await parseWithYargs(args));
}

/** parseArgs through yargs, whatever the words (exported for the test that compares both ways). */
export async function parseWithYargs(args: readonly string[]): Promise<Invocation | undefined> {
  const known = knownOptions();
  // Loaded here, not at start-up: it takes about 0.07 s of CPU, which every cron run would pay.
  const { default: yargs } = await import('yargs');
  const argv = (await buildParser(yargs, args).exitProcess(false).showHelpOnFail(false).parseAsync()) as Record<string, unknown>;
  if (argv['help'] || argv['version']) return undefined;
  const flags = new Map<string, unknown>();
  for (const name of known.keys()) if (argv[name] !== undefined) flags.set(name, argv[name]);
  // yargs-parser reads a lone "-" as an empty flag, not as the conventional name for stdin.
  if (args.includes('-') && (argv['csv'] === '' || argv['csv'] === true)) flags.set('csv', '-');
  const config = argv['config'];
  if (config !== undefined && (typeof config !== 'string' || config === '')) throw new UsageError('--config expects a file name');
  return { flags, ...(typeof config === 'string' ? { config } : {}), printConfig: argv['print-config'] === true };
}

/** The options whose values become flags (every area's and every target's), in yargs' order. */
function knownOptions(): Map<string, OptionDecl<unknown>> {
  const known = new Map<string, OptionDecl<unknown>>();
  for (const area of Object.values(areas)) for (const [name, decl] of Object.entries(area.options)) known.set(name, decl);
  for (const [name, { decl }] of targetOptions()) if (!known.has(name)) known.set(name, decl);
  return known;
}

/**
 * The everyday command line without yargs: at most one CSV, and declared options written in full
 * as `--name value`, `--name=value` or (a switch) `--name`, each at most once. Anything else (help,
 * version, short or negated flags, `-` for standard input, a value that looks like a flag or is
 * empty, a switch followed by true/false, a repeated or unknown option) returns undefined, and
 * yargs parses the words as before, with its messages. What it returns is what the yargs path
 * returns for the same words.
 */
export function parseSimple(args: readonly string[]): Invocation | undefined {
  const known = knownOptions();
  const given = new Map<string, unknown>();
  const invocation = invocationArea.options as Readonly<Record<string, OptionDecl<unknown>>>;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('-')) {
      if (arg === '' || given.has('csv')) return undefined;
      given.set('csv', arg);
      continue;
    }
    const equals = arg.indexOf('=');
    const name = arg.slice(2, equals < 0 ? undefined : equals);
    if (!arg.startsWith('--') || !/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(name) || name.startsWith('no-') || name === 'csv' || given.has(name)) return undefined;
    const decl = known.get(name) ?? (Object.hasOwn(invocation, name) ? invocation[name] : undefined);
    if (decl === undefined) return undefined;
    if (decl.kind === 'boolean') {
      if (equals >= 0 || args[i + 1] === 'true' || args[i + 1] === 'false') return undefined;
      given.set(name, true);
    } else {
      const value = equals >= 0 ? arg.slice(equals + 1) : args[++i];
      if (value === undefined || value === '' || value.startsWith('-')) return undefined;
      given.set(name, value);
    }
  }
  const flags = new Map<string, unknown>();
  for (const name of known.keys()) if (given.has(name)) flags.set(name, given.get(name));
  const config = given.get('config');
  return { flags, ...(typeof config === 'string' ? { config } : {}), printConfig: given.get('print-config') === true };
}
