// The kinds of option value and their rules. Every option of every area is built with one of these,
// so a rule and its message exist once: a value from the command line ("512", a string) and the
// same value from a config file (512, a number) go through the same parse and fail the same way,
// naming the option, the value and what was expected (sharp's style).
import { UsageError } from '../errors.js';

/** How the option is written and shown: decides the yargs type and the README's placeholder. */
export type OptionKind = 'text' | 'integer' | 'number' | 'boolean' | 'bytes' | 'choice' | 'list';

/**
 * One option, declared once. `D` says at the type level whether it has a default, so an area's
 * typed values (`Values<…>`) mark options without one as possibly undefined.
 */
export interface OptionDecl<T, D extends boolean = boolean> {
  readonly kind: OptionKind;
  /** Placeholder in help and README (`N`, `DIR`, `FILE`). */
  readonly arg?: string;
  /** Markdown for the README's options table; its first sentence, plain, is the --help text. */
  readonly doc: string;
  /** --help text when the first sentence of `doc` is not the right one. */
  readonly help?: string;
  readonly default?: T;
  /** The README's default column when the default is computed or absent ("detected", "per target"). */
  readonly defaultDoc?: string;
  readonly alias?: string;
  /** Accepted values, for help and README (the parse enforces them). */
  readonly choices?: readonly string[];
  /** Settable in a config file's `targets:` entry, overriding the top-level value for that target. */
  readonly perTarget?: boolean;
  /** Only on the command line (`--config`, `--print-config`): not a config-file key. */
  readonly cliOnly?: boolean;
  /** Masked in --print-config and in the ledger's run line. */
  readonly secret?: boolean;
  /** A file or folder name: in a config file, relative to the file's folder. */
  readonly path?: boolean;
  /** A file that holds a secret (`token-file`): what a config file's secret key is pointed to. */
  readonly secretFile?: boolean;
  /** Validates and converts a value from argv or a config file; throws UsageError. */
  readonly parse: (raw: unknown, where: Where) => T;
  /** Phantom: whether a default exists. */
  readonly _default?: D;
}

/** How to name a value in an error: `--size`, plus where it came from when not the command line. */
export interface Where {
  readonly flag: string;
  /** "nightly.yaml line 4" when the value came from a config file. */
  readonly origin?: string;
}

export function fail(where: Where, expected: string, raw: unknown): never {
  const got = JSON.stringify(raw) ?? String(raw);
  throw new UsageError(`--${where.flag} expects ${expected}, got ${got}${where.origin ? ` (${where.origin})` : ''}`);
}

interface Common<T> {
  readonly doc: string;
  readonly help?: string;
  readonly arg?: string;
  readonly default?: T;
  readonly defaultDoc?: string;
  readonly alias?: string;
  readonly perTarget?: boolean;
  readonly cliOnly?: boolean;
  readonly secret?: boolean;
  readonly path?: boolean;
  readonly secretFile?: boolean;
}

type Has<S, T> = S extends { default: T } ? true : false;

function declare<T, S extends Common<T>>(kind: OptionKind, spec: S, parse: (raw: unknown, where: Where) => T, extra: Partial<OptionDecl<T>> = {}): OptionDecl<T, Has<S, T>> {
  return { kind, ...spec, ...extra, parse } as OptionDecl<T, Has<S, T>>;
}

/** A non-empty string. */
export function text<S extends Common<string> & { readonly check?: (value: string, where: Where) => string }>(spec: S): OptionDecl<string, Has<S, string>> {
  return declare<string, S>('text', spec, (raw, where) => {
    if (typeof raw !== 'string' && typeof raw !== 'number') fail(where, 'a value', raw);
    const value = String(raw);
    if (value.trim() === '') fail(where, 'a value', raw);
    return spec.check ? spec.check(value, where) : value;
  });
}

/** A whole number in [min, max]. */
export function integer<S extends Common<number> & { readonly min: number; readonly max?: number }>(spec: S): OptionDecl<number, Has<S, number>> {
  const max = spec.max ?? Number.MAX_SAFE_INTEGER;
  const expected = `a whole number from ${spec.min}${spec.max === undefined ? ' up' : ` to ${spec.max}`}`;
  return declare<number, S>('integer', spec, (raw, where) => {
    const value = toNumber(raw);
    if (!Number.isInteger(value) || value < spec.min || value > max) fail(where, expected, raw);
    return value;
  });
}

/** A number above `above` (a rate), or within [min, max] (seconds). */
export function number<S extends Common<number> & { readonly unit: string } & ({ readonly above: number } | { readonly min: number; readonly max: number })>(spec: S): OptionDecl<number, Has<S, number>> {
  return declare<number, S>('number', spec, (raw, where) => {
    const value = toNumber(raw);
    if ('above' in spec) {
      if (!Number.isFinite(value) || !(value > spec.above)) fail(where, `${spec.unit} above ${spec.above}`, raw);
    } else if (!Number.isFinite(value) || value < spec.min || value > spec.max) fail(where, `${spec.unit} from ${spec.min} to ${spec.max}`, raw);
    return value;
  });
}

export function boolean<S extends Common<boolean>>(spec: S): OptionDecl<boolean, Has<S, boolean>> {
  return declare<boolean, S>('boolean', spec, (raw, where) => {
    if (typeof raw === 'boolean') return raw;
    if (raw === 'true' || raw === 'yes') return true;
    if (raw === 'false' || raw === 'no') return false;
    return fail(where, 'true or false', raw);
  });
}

// "500k", "5MiB", "1.5M", "2000000": k/M/G and KiB/MiB/GiB are binary (what people mean for file
// sizes), KB/MB/GB with a capital B are decimal, a bare number is bytes.
const UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1024, kib: 1024, kb: 1000,
  m: 1024 ** 2, mib: 1024 ** 2, mb: 1000 ** 2,
  g: 1024 ** 3, gib: 1024 ** 3, gb: 1000 ** 3,
};

/** A size in bytes: 1048576, 500k, 5MiB, 2MB. The default is given in bytes. */
export function bytes<S extends Common<number>>(spec: S): OptionDecl<number, Has<S, number>> {
  return declare<number, S>('bytes', spec, (raw, where) => parseBytes(raw, where));
}

export function parseBytes(raw: unknown, where: Where): number {
  const text = String(raw).trim();
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text);
  const unitText = match?.[2] ?? '';
  // "KB"/"MB" are decimal only when written with a capital B; "kb" is read as the binary k.
  const unit = /^[KMGkmg]B$/.test(unitText) ? unitText.toLowerCase() : unitText.toLowerCase().replace(/^([kmg])b$/, '$1');
  const factor = UNITS[unit];
  if (!match || factor === undefined || typeof raw === 'boolean') fail(where, 'a size such as 1048576, 500k, 5MiB or 2MB', raw);
  const value = Math.floor(Number(match[1]) * factor);
  if (value < 1) fail(where, 'at least 1 byte', raw);
  return value;
}

/** One of a fixed set; `aliases` map other spellings (center → centre). */
export function choice<const C extends string, S extends Common<C> & { readonly aliases?: Readonly<Record<string, C>> }>(choices: readonly C[], spec: S): OptionDecl<C, Has<S, C>> {
  return declare<C, S>('choice', spec, (raw, where) => {
    const value = typeof raw === 'string' ? (spec.aliases?.[raw] ?? raw) : raw;
    if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) fail(where, `one of ${choices.join(', ')}`, raw);
    return value as C;
  }, { choices });
}

/** Repeatable on the command line, a list (or one value) in a config file. */
export function list<S extends Common<readonly string[]> & { readonly item: (value: string, where: Where) => string }>(spec: S): OptionDecl<readonly string[], Has<S, readonly string[]>> {
  return declare<readonly string[], S>('list', spec, (raw, where) => {
    const items = Array.isArray(raw) ? raw : [raw];
    return items.map((item) => {
      if (typeof item !== 'string' || item.trim() === '') fail(where, 'a list of values', raw);
      return spec.item(item, where);
    });
  });
}

function toNumber(raw: unknown): number {
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'string' && raw.trim() !== '') return Number(raw);
  return Number.NaN;
}

/** An area's options: keyed by the flag name, which is also the config-file key. */
export type OptionTable = Readonly<Record<string, OptionDecl<any, boolean>>>;

type Camel<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;

/** The typed, validated values of an area: `min-size` becomes `minSize`. */
export type Values<A extends OptionTable> = {
  readonly [K in keyof A & string as Camel<K>]: A[K] extends OptionDecl<infer T, infer D> ? (D extends true ? T : T | undefined) : never;
};

export function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** A titled group of options, shown together in --help and as one table in the README. */
export interface Area<A extends OptionTable = OptionTable> {
  /** Key of the README table (`<!-- options:image -->`) and of the Plan's slice. */
  readonly id: string;
  readonly title: string;
  readonly options: A;
}

export function area<A extends OptionTable>(id: string, title: string, options: A): Area<A> {
  return { id, title, options };
}

/** Apply the declarations to raw values (kebab keys); defaults fill what is missing. */
export function parseValues<A extends OptionTable>(table: A, raw: (name: string) => { value: unknown; where: Where } | undefined): Values<A> {
  const out: Record<string, unknown> = {};
  for (const [name, decl] of Object.entries(table)) {
    const given = raw(name);
    if (given !== undefined && given.value !== undefined) out[camel(name)] = decl.parse(given.value, given.where);
    else if (decl.default !== undefined) out[camel(name)] = decl.default;
  }
  return out as Values<A>;
}
