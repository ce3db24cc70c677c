// Flags, config file and defaults merged into typed values, validated by the declarations.
// Precedence, most specific first: a command-line flag, then the option in the target's
// `targets:` entry (for per-target options and the target's own), then the config file's top
// level, then the declared default. A flag wins over the file everywhere: what is typed on the
// command line is what the operator means now.
import { findTarget } from '../targets/registry.js';
import { targetNames } from '../targets/options.js';
import type { TargetFactory } from '../targets/target.js';
import type { ConfigFile, RawValue, TargetEntry } from './config-file.js';
import { parseValues } from './declare.js';
import type { OptionTable, Values, Where } from './declare.js';
import { areas, targetOptions } from './schema.js';
import type { AreaId, AreaValues } from './schema.js';

export interface TargetSettings {
  readonly factory: TargetFactory;
  /** The target's own options, typed by its declarations (passed to `factory.create`). */
  readonly options: Values<OptionTable>;
  /** Every area's values as they apply to this target (per-target overrides applied). */
  readonly values: AreaValues;
  /** Where the entry was declared ("targets[2] in nightly.yaml line 9"), or undefined for flags. */
  readonly origin?: string;
}

export interface Settings extends AreaValues {
  readonly targets: readonly TargetSettings[];
  readonly configFile?: string;
  /** Targets' options given (flag or top-level key) that no target of this run takes, with the
   * targets that would: worth a warning, since a typo'd --target would otherwise pass unnoticed. */
  readonly unused: readonly { readonly name: string; readonly takenBy: readonly string[] }[];
}

/** Values given on the command line, by option name (only those given). */
export type Flags = ReadonlyMap<string, unknown>;

export function resolveSettings(flags: Flags, file?: ConfigFile): Settings {
  const fromFlag = (name: string): RawValue | undefined =>
    flags.get(name) === undefined ? undefined : { value: flags.get(name), where: { flag: name } };
  const top = (name: string): RawValue | undefined => fromFlag(name) ?? file?.values.get(name);
  const topValues = areaValues(top);

  const chosen = chooseTargets(fromFlag('target') ?? file?.values.get('target'), file?.targets);
  const targetSettings = chosen.map(({ factory, entry }): TargetSettings => {
    const forTarget = (name: string): RawValue | undefined => fromFlag(name) ?? entry?.values.get(name) ?? file?.values.get(name);
    const perTarget = (name: string, perTargetOption: boolean): RawValue | undefined => (perTargetOption ? forTarget(name) : top(name));
    return {
      factory,
      options: parseValues(factory.options, forTarget),
      values: areaValues((name) => perTarget(name, isPerTarget(name))),
      ...(entry ? { origin: entry.origin } : {}),
    };
  });
  const given = new Set([...flags.keys(), ...(file?.values.keys() ?? [])]);
  const unused = [...targetOptions()]
    .filter(([name, { factories }]) => given.has(name) && !chosen.some(({ factory }) => factories.includes(factory)))
    .map(([name, { factories }]) => ({ name, takenBy: factories.map((f) => f.name) }));
  return { ...topValues, targets: targetSettings, unused, ...(file ? { configFile: file.path } : {}) };
}

function areaValues(raw: (name: string) => RawValue | undefined): AreaValues {
  const out: Partial<Record<AreaId, unknown>> = {};
  for (const id of Object.keys(areas) as AreaId[]) out[id] = parseValues(areas[id].options, raw);
  return out as AreaValues;
}

function isPerTarget(name: string): boolean {
  return Object.values(areas).some((area) => (area.options as OptionTable)[name]?.perTarget === true);
}

/**
 * Which targets run, each with its `targets:` entry if the file has one. `--target` (or `target:`)
 * picks by type: every entry of a picked type is used, and a picked type without an entry runs on
 * the flat options; without either, the file's entries all run; without a file, `dir`.
 */
function chooseTargets(named: RawValue | undefined, entries: readonly TargetEntry[] | undefined): { factory: TargetFactory; entry?: TargetEntry }[] {
  if (named === undefined && entries && entries.length > 0) return entries.map((entry) => ({ factory: entry.factory, entry }));
  const where: Where = named?.where ?? { flag: 'target' };
  const names = named === undefined ? ['dir'] : targetNames(areas.target.options.target.parse(named.value, where), where);
  return [...new Set(names)].flatMap((name) => {
    const factory = findTarget(name)!;
    const mine = (entries ?? []).filter((entry) => entry.factory === factory);
    return mine.length > 0 ? mine.map((entry) => ({ factory, entry })) : [{ factory }];
  });
}
