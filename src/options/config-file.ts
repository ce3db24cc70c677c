// `--config FILE`: the options of a run in YAML or JSON (JSON is YAML, so one parser gives line
// numbers for both). Every key is checked against the declarations before anything else happens:
// an unknown key names the file, the line and the nearest valid key; a key that looks like a
// secret is refused, naming the `*-file` option or environment variable that takes it instead
// (config files get copied, committed and pasted into tickets; secrets must not travel with them).
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Node, Pair, YAMLMap } from 'yaml';
import { UsageError } from '../errors.js';
import { findTarget } from '../targets/registry.js';
import type { TargetFactory } from '../targets/target.js';
import type { OptionDecl, Where } from './declare.js';
import { areaOptions, entryOptions, targetOptions, targets } from './schema.js';
import type { FoundOption } from './schema.js';
import { nearest } from './suggest.js';

/** A value as found in a file, with where it was found (for every later error about it). */
export interface RawValue {
  readonly value: unknown;
  readonly where: Where;
}

export interface TargetEntry {
  readonly factory: TargetFactory;
  readonly values: ReadonlyMap<string, RawValue>;
  /** "targets[2] in nightly.yaml line 9". */
  readonly origin: string;
}

export interface ConfigFile {
  readonly path: string;
  /** Top-level keys, as flags would give them (area options and targets' own options). */
  readonly values: ReadonlyMap<string, RawValue>;
  /** The `targets:` list, when there is one. */
  readonly targets?: readonly TargetEntry[];
}

/** Key names that hold a secret when they are not a declared option (`token`, `admin-key` …). */
const SECRET_KEY = /(^|[-_])(token|access[-_]?token|password|passwd|secret|api[-_]?key|private[-_]?key|admin[-_]?key|key|credential)s?$/i;

export async function readConfigFile(path: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`--config ${path}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  return parseConfig(text, path);
}

/** Parse and check a config file's text (exported for tests). */
export function parseConfig(text: string, path: string): ConfigFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const at = (node: Node | null | undefined): string => {
    const offset = node?.range?.[0];
    return offset === undefined ? path : `${path} line ${lines.linePos(offset).line}`;
  };
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    throw new UsageError(`--config ${path}: not valid YAML or JSON at line ${lines.linePos(first.pos[0]).line}: ${first.message.split('\n')[0]}`);
  }
  const root = doc.contents;
  if (root === null || root === undefined) return { path, values: new Map() };
  if (!isMap(root)) throw new UsageError(`--config ${path}: expected keys and values (a YAML mapping or a JSON object) at the top`);
  const base = dirname(resolve(path));

  const topLevel = new Map<string, FoundOption>();
  for (const option of areaOptions()) if (!option.decl.cliOnly) topLevel.set(option.name, option);
  for (const [name, { decl, factories }] of targetOptions()) topLevel.set(name, { name, decl, owner: factories[0]! });

  const values = new Map<string, RawValue>();
  let entries: TargetEntry[] | undefined;
  for (const pair of root.items) {
    const key = keyOf(pair, path, at);
    if (key === 'targets') {
      entries = readTargets(pair, at, path, base);
      continue;
    }
    const option = topLevel.get(key);
    if (!option) refuseKey(key, at(pair.key as Node), [...topLevel.keys(), 'targets'], targets.flatMap((t) => t.secretEnv ?? []), topLevel);
    values.set(key, read(pair, option.decl, key, at, base));
  }
  return { path, values, ...(entries ? { targets: entries } : {}) };
}

function readTargets(pair: Pair, at: (node: Node | null | undefined) => string, path: string, base: string): TargetEntry[] {
  const list = pair.value;
  if (!isSeq(list)) throw new UsageError(`targets (${at(pair.key as Node)}): expected a list of targets, each with a type (${targets.map((t) => t.name).join(', ')})`);
  return list.items.map((item, index) => {
    const origin = `targets[${index + 1}] in ${at(item as Node)}`;
    if (!isMap(item)) throw new UsageError(`${origin}: expected keys and values, starting with type: ${targets.map((t) => t.name).join(' | ')}`);
    const typePair = (item as YAMLMap).items.find((entry) => isScalar(entry.key) && entry.key.value === 'type');
    const type = typePair && isScalar(typePair.value) ? String(typePair.value.value) : undefined;
    if (type === undefined) throw new UsageError(`${origin}: every target needs a type: ${targets.map((t) => t.name).join(', ')}`);
    const factory = findTarget(type);
    if (!factory) {
      const guess = nearest(type, targets.map((t) => t.name));
      throw new UsageError(`${origin}: unknown target type "${type}"; expected one of ${targets.map((t) => t.name).join(', ')}${guess ? ` (did you mean ${guess}?)` : ''}`);
    }
    const allowed = new Map(entryOptions(factory).map((option) => [option.name, option]));
    const values = new Map<string, RawValue>();
    for (const entry of (item as YAMLMap).items) {
      const key = keyOf(entry, path, at);
      if (key === 'type') continue;
      const option = allowed.get(key);
      if (!option) refuseKey(key, `${at(entry.key as Node)} (a ${type} target)`, [...allowed.keys(), 'type'], factory.secretEnv ?? [], allowed);
      values.set(key, read(entry, option.decl, key, at, base));
    }
    return { factory, values, origin };
  });
}

function keyOf(pair: Pair, path: string, at: (node: Node | null | undefined) => string): string {
  if (!isScalar(pair.key) || typeof pair.key.value !== 'string') throw new UsageError(`--config ${path}: ${at(pair.key as Node)}: keys must be option names`);
  return pair.key.value;
}

function read(pair: Pair, decl: OptionDecl<unknown>, key: string, at: (node: Node | null | undefined) => string, base: string): RawValue {
  const node = pair.value as Node | null;
  let value: unknown = node === null ? null : isScalar(node) ? node.value : (node as Node).toJSON();
  const origin = at((node ?? pair.key) as Node);
  if (typeof value === 'string' && /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(value)) {
    throw new UsageError(`${key} (${origin}): holds a private key; secrets are not accepted in a config file — put it in a file with mode 0600 and name that file instead`);
  }
  // Relative names in a config file are relative to the file, not to wherever cron starts.
  if (decl.path && typeof value === 'string' && value !== '-' && value !== '' && !isAbsolute(value)) value = resolve(base, value);
  return { value, where: { flag: key, origin } };
}

function refuseKey(
  key: string,
  where: string,
  valid: readonly string[],
  env: readonly string[],
  options: ReadonlyMap<string, FoundOption>,
): never {
  if (SECRET_KEY.test(key)) {
    const files = [...options.values()].filter((option) => option.decl.secretFile).map((option) => option.name);
    const file = nearest(`${key}-file`, files) ?? files[0];
    const instead = [file ? `${file}: FILE (a file holding it, mode 0600)` : undefined, env.length > 0 ? `the environment (${env.map((name) => `$${name}`).join(', ')})` : undefined].filter(Boolean);
    throw new UsageError(`${key} (${where}): secrets are not accepted in a config file; use ${instead.length > 0 ? instead.join(' or ') : 'a file or the environment'} instead`);
  }
  const guess = nearest(key, valid);
  throw new UsageError(`unknown key "${key}" in ${where}${guess ? `; did you mean "${guess}"?` : ''}`);
}
