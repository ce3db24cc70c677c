import yargs from 'yargs';
import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import { targets } from '../targets/registry.js';
import { parseBytes } from './bytes.js';

// Every option is declared and validated here, once, before anything is read or sent: an invalid
// one ends the run with exit 2 and a message naming the option, the value and what was expected.

export interface Options {
  readonly csv: string;
  readonly idColumn?: string;
  readonly imageColumn?: string;
  readonly userTemplate?: string;
  readonly delimiter?: string;
  readonly imagesDir?: string;
  readonly allowHost: readonly string[];
  readonly fetchTimeoutMs: number;
  readonly maxSourceBytes: number;
  /** Undefined when not given: the target may prefer another edge (Zulip renders 500 px). */
  readonly size?: number;
  readonly minSize: number;
  readonly maxBytes: number;
  readonly quality: number;
  readonly crop: 'centre' | 'attention';
  readonly background: string;
  readonly allowSvg: boolean;
  readonly maxPixels: number;
  readonly target: string;
  readonly ledger?: string;
  readonly force: boolean;
  readonly retryFailed: boolean;
  readonly dryRun: boolean;
  readonly checksum: boolean;
  readonly jobs: number;
  readonly concurrency?: number;
  readonly retries: number;
  readonly maxRate?: number;
  readonly overwriteUserChanges: boolean;
  readonly quiet: boolean;
  readonly verbose: boolean;
  readonly progress: 'auto' | 'live' | 'plain' | 'off';
  /** Everything yargs parsed, for the target's own flags. */
  readonly argv: Readonly<Record<string, unknown>>;
}

/** Measured on 2 cores with 12 MP camera JPEGs: see the README's benchmark section. */
export const DEFAULT_JOBS = 4;

const EXAMPLES: [string, string][] = [
  ['$0 people.csv --target dir --out avatars/', 'square JPEGs for everyone in people.csv, into avatars/'],
  ['$0 people.csv --out avatars/ --dry-run', 'check every row and image, write nothing'],
  ['$0 people.csv --out avatars/ --retry-failed', 'go on after fixing the inputs of failed rows'],
  ['$0 - --ledger hr.ledger.jsonl --out avatars/ < people.csv', 'read the CSV from stdin'],
];

export function buildParser(args: readonly string[]): Argv {
  let parser = yargs([...args])
    .scriptName('avatar-import')
    .usage('Usage: $0 <csv> [options]\n\nGive every person in an HR export a clean, upright, square avatar.\nThe CSV needs a user column and an image column (a path relative to --images-dir, or an http(s) URL).')
    .command('$0 <csv>', false, (command) => command.positional('csv', { type: 'string', describe: 'the HR export (CSV); - reads standard input' }))
    .group(['id-column', 'image-column', 'user-template', 'delimiter'], 'Input:')
    .option('id-column', { type: 'string', describe: 'column naming the user (default: detected from user_id, id, username, email, login, uid)' })
    .option('image-column', { type: 'string', describe: 'column with the photo (default: detected from image, photo, picture, avatar, path, file)' })
    .option('user-template', { type: 'string', describe: "build the user from columns, e.g. '@{email|localpart|lower}:example.org' (filters: lower, upper, trim, localpart, domain, slug)" })
    .option('delimiter', { type: 'string', describe: 'field separator: , ; or tab (default: detected from the header line)' })
    .group(['images-dir', 'allow-host', 'fetch-timeout', 'max-source-bytes'], 'Sources:')
    .option('images-dir', { type: 'string', describe: "base folder for relative image paths; nothing outside it is read (default: the CSV's folder)" })
    .option('allow-host', { type: 'string', array: true, default: [], describe: 'host (or host:port) that http(s) image URLs may come from; repeatable' })
    .option('fetch-timeout', { type: 'number', default: 30, describe: 'seconds before an image URL fetch is abandoned' })
    .option('max-source-bytes', { type: 'string', default: '50MiB', describe: 'largest source image file read or fetched' })
    .group(['size', 'min-size', 'max-bytes', 'quality', 'crop', 'background', 'allow-svg', 'max-pixels'], 'Image:')
    .option('size', { type: 'number', describe: 'edge of the square avatar in pixels; smaller sources are never upscaled (default 512, or the target\'s preferred edge)' })
    .option('min-size', { type: 'number', default: 96, describe: 'refuse sources whose short edge is below this (image_too_small)' })
    .option('max-bytes', { type: 'string', default: '1MiB', describe: 'largest avatar; quality, then edge, are stepped down to fit (accepts 500k, 5MiB); capped by the target' })
    .option('quality', { type: 'number', default: 85, describe: 'JPEG quality to start from (1-100)' })
    .option('crop', { type: 'string', choices: ['centre', 'center', 'attention'], default: 'centre', describe: 'square crop: the centre, or the most interesting region (sharp attention)' })
    .option('background', { type: 'string', default: 'white', describe: 'colour transparent pixels are flattened onto (CSS colour)' })
    .option('allow-svg', { type: 'boolean', default: false, describe: 'accept SVG sources (refused by default: an SVG can reference other files)' })
    .option('max-pixels', { type: 'number', default: 100_000_000, describe: 'refuse sources with more pixels than this, read from the header before decoding' })
    .group(['target', ...new Set(targets.flatMap((t) => Object.keys(t.options)))], 'Target:')
    .option('target', { type: 'string', choices: targets.map((t) => t.name), default: 'dir', describe: targets.map((t) => `${t.name}: ${t.describe}`).join('; ') })
    .group(['ledger', 'force', 'retry-failed', 'dry-run', 'checksum', 'overwrite-user-changes'], 'Run:')
    .option('ledger', { type: 'string', describe: 'results ledger (JSON Lines) (default: <csv name>.ledger.jsonl next to the CSV)' })
    .option('force', { type: 'boolean', default: false, describe: 'redo rows the ledger says are done' })
    .option('retry-failed', { type: 'boolean', default: false, describe: 'try failed rows again even if their input did not change' })
    .option('dry-run', { type: 'boolean', default: false, describe: 'read, validate and normalise everything; write nothing to the target or ledger' })
    .option('checksum', { type: 'boolean', default: false, describe: 'compare sources and outputs by content, not size and mtime' })
    .option('overwrite-user-changes', { type: 'boolean', default: false, describe: 'replace avatars users set themselves since the last run' })
    .group(['jobs', 'concurrency', 'retries', 'max-rate', 'request-timeout'], 'Performance:')
    .option('jobs', { type: 'number', default: DEFAULT_JOBS, describe: 'images decoded/encoded at once' })
    .option('concurrency', { type: 'number', describe: 'rows in flight to the target (default: per target)' })
    .option('retries', { type: 'number', default: 5, describe: 'retries of a failing request (5xx, timeouts, resets) before the row fails' })
    .option('max-rate', { type: 'number', describe: 'at most this many requests per second to the target' })
    .option('request-timeout', { type: 'number', describe: 'seconds a request to the target may wait for its answer at most (default 90); within that, the timeout follows the latency the server has shown' })
    .group(['quiet', 'verbose', 'progress'], 'Output:')
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'only warnings, errors and the summary' })
    .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'a line for every row' })
    .option('progress', { type: 'string', choices: ['auto', 'live', 'plain', 'off'], default: 'auto', describe: 'live line on a terminal, a plain line every 10 s otherwise' })
    .strict()
    .help()
    .alias('help', 'h')
    .version()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((message, error) => {
      throw error instanceof UsageError ? error : new UsageError(message || error?.message || 'invalid arguments');
    });
  for (const target of targets) {
    for (const [name, option] of Object.entries(target.options)) {
      parser = parser.option(name, {
        type: option.type === 'array' ? 'string' : option.type,
        ...(option.type === 'array' ? { array: true } : {}),
        describe: option.describe,
        ...(option.default === undefined ? {} : { default: option.default }),
      });
    }
  }
  for (const [command, description] of EXAMPLES) parser = parser.example(command, description);
  return parser;
}

/** Parse and validate. Throws UsageError. Returns undefined when --help/--version printed. */
export async function parseOptions(args: readonly string[]): Promise<Options | undefined> {
  let exited = false;
  const argv = (await buildParser(args)
    .exitProcess(false)
    .showHelpOnFail(false)
    .parseAsync()) as Record<string, unknown>;
  if (argv['help'] || argv['version']) exited = true;
  if (exited) return undefined;

  const int = (name: string, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const value = argv[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new UsageError(`--${name} expects a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}, got "${String(value)}"`);
    }
    return value;
  };
  const optionalInt = (name: string, min: number, max?: number): number | undefined =>
    argv[name] === undefined ? undefined : int(name, min, max);

  const delimiter = argv['delimiter'] === undefined ? undefined : parseDelimiter(String(argv['delimiter']));
  const allowHost = (argv['allow-host'] as string[]).map((host) => {
    if (!/^[a-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-f:.]+\](:\d{1,5})?$/i.test(host)) {
      throw new UsageError(`--allow-host expects a host name or host:port (no scheme, no path), got "${host}"`);
    }
    return host.toLowerCase();
  });
  const fetchTimeout = argv['fetch-timeout'];
  if (typeof fetchTimeout !== 'number' || !(fetchTimeout > 0)) throw new UsageError(`--fetch-timeout expects a number of seconds above 0, got "${String(fetchTimeout)}"`);
  const maxRate = argv['max-rate'];
  if (maxRate !== undefined && (typeof maxRate !== 'number' || !(maxRate > 0))) throw new UsageError(`--max-rate expects requests per second above 0, got "${String(maxRate)}"`);

  const size = optionalInt('size', 16, 4096);
  const minSize = int('min-size', 1, 4096);
  if (size !== undefined && minSize > size) throw new UsageError(`--min-size (${minSize}) cannot be larger than --size (${size})`);
  // yargs-parser reads a lone "-" as an empty flag, not as the conventional name for stdin.
  const csv = args.includes('-') && (argv['csv'] === '' || argv['csv'] === true) ? '-' : String(argv['csv'] ?? '');
  if (csv === '') throw new UsageError('the CSV path is required (use - for standard input)');

  return {
    csv,
    ...optionalString(argv, 'id-column', 'idColumn'),
    ...optionalString(argv, 'image-column', 'imageColumn'),
    ...optionalString(argv, 'user-template', 'userTemplate'),
    ...(delimiter === undefined ? {} : { delimiter }),
    ...optionalString(argv, 'images-dir', 'imagesDir'),
    allowHost,
    fetchTimeoutMs: Math.round(fetchTimeout * 1000),
    maxSourceBytes: parseBytes('max-source-bytes', argv['max-source-bytes']),
    ...(size === undefined ? {} : { size }),
    minSize,
    maxBytes: parseBytes('max-bytes', argv['max-bytes']),
    quality: int('quality', 1, 100),
    crop: argv['crop'] === 'attention' ? 'attention' : 'centre',
    background: String(argv['background']),
    allowSvg: argv['allow-svg'] === true,
    maxPixels: int('max-pixels', 1),
    target: String(argv['target']),
    ...optionalString(argv, 'ledger', 'ledger'),
    force: argv['force'] === true,
    retryFailed: argv['retry-failed'] === true,
    dryRun: argv['dry-run'] === true,
    checksum: argv['checksum'] === true,
    jobs: int('jobs', 1, 64),
    ...(argv['concurrency'] === undefined ? {} : { concurrency: int('concurrency', 1, 256) }),
    retries: int('retries', 0, 100),
    ...(maxRate === undefined ? {} : { maxRate: maxRate as number }),
    overwriteUserChanges: argv['overwrite-user-changes'] === true,
    quiet: argv['quiet'] === true,
    verbose: argv['verbose'] === true,
    progress: argv['progress'] as Options['progress'],
    argv,
  };
}

function parseDelimiter(value: string): string {
  const named: Record<string, string> = { tab: '\t', '\\t': '\t', comma: ',', semicolon: ';', pipe: '|' };
  const delimiter = named[value.toLowerCase()] ?? value;
  if (delimiter.length !== 1 || /[\r\n"]/.test(delimiter)) {
    throw new UsageError(`--delimiter expects one character such as , ; | or the word tab, got "${value}"`);
  }
  return delimiter;
}

function optionalString<K extends string>(argv: Record<string, unknown>, name: string, key: K): Partial<Record<K, string>> {
  const value = argv[name];
  if (value === undefined) return {};
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`--${name} expects a value`);
  return { [key]: value } as Partial<Record<K, string>>;
}
