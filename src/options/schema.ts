// Every option of the import, in one list of areas. Each option is declared once, next to the code
// that uses it; from these declarations come the command-line flags (src/cli/parser.ts), --help,
// the config-file keys and their checks (config-file.ts), --print-config (print.ts), the README's
// options tables (readme.ts, checked by test/options/readme.test.ts) and the typed values every
// module receives through the Plan (src/pipeline/plan.ts). Nothing reads argv.
//
// HOW TO ADD AN OPTION (one declaration):
//   1. Add it to the area it belongs to, with one of the kinds of declare.ts (text, integer, number,
//      boolean, bytes, choice, list): name (kebab-case: the flag and the config key), doc (markdown,
//      its first sentence is the --help line unless `help` is given), default, and the rule (min/max,
//      choices, or `check` for a custom rule that throws through `fail()`).
//        input/options.ts        inputArea, sourcesArea   (--encoding, --skip-lines, --sheet …)
//        image/options.ts        imageArea                (--image-template …)
//        pipeline/options.ts     runArea, performanceArea (--only-new, --shard, --request-timeout …)
//        report/options.ts       outputArea               (--report, --log-file, --json …)
//        targets/<t>/options.ts  that target's options    (passed typed to its factory's create())
//      Mark it `perTarget: true` if a config file's `targets:` entry may override it per target.
//      A new area: declare it with area() and add it to `areas` below (its README table appears
//      where `<!-- options:<id> -->` is placed).
//   2. Read it where it is used: `plan.<area>.<camelName>` (or `planned.values.<area>` for the
//      per-target value), fully typed, validated, defaulted.
//   3. `npm run readme:options` rewrites the README tables (a test fails until you do).
// Secrets are never options: declare a `*-file` option (and an environment variable in the
// target's `secretEnv`); a config key that looks like a secret is refused, naming them.
import { imageArea } from '../image/options.js';
import { inputArea, sourcesArea } from '../input/options.js';
import { performanceArea, runArea } from '../pipeline/options.js';
import { outputArea } from '../report/options.js';
import { targetArea } from '../targets/options.js';
import { targets } from '../targets/registry.js';
import type { TargetFactory } from '../targets/target.js';
import { area, boolean, text } from './declare.js';
import type { OptionDecl, Values } from './declare.js';

/** The areas in --help and README order; each is a typed slice of the Plan. */
export const areas = {
  input: inputArea,
  sources: sourcesArea,
  image: imageArea,
  target: targetArea,
  run: runArea,
  performance: performanceArea,
  output: outputArea,
} as const;

export type AreaId = keyof typeof areas;
export type AreaValues = { readonly [K in AreaId]: Values<(typeof areas)[K]['options']> };

/** Options of the command line itself: not config-file keys. */
export const invocationArea = area('invocation', 'Config file', {
  config: text({
    arg: 'FILE',
    doc: 'read options from a YAML or JSON file (see [Config file](#config-file)); flags given on the command line win.',
    cliOnly: true,
  }),
  'print-config': boolean({
    default: false,
    doc: 'print the effective settings (file, flags and defaults merged; secrets masked) as YAML and exit 0.',
    help: 'print the effective settings (file + flags + defaults) as YAML and exit',
    cliOnly: true,
  }),
});

export interface FoundOption {
  readonly name: string;
  readonly decl: OptionDecl<unknown>;
  /** The area, or the target that declares it. */
  readonly owner: AreaId | TargetFactory;
}

/** Every option of the areas (not the targets'), by name. */
export function areaOptions(): FoundOption[] {
  return (Object.keys(areas) as AreaId[]).flatMap((id) =>
    Object.entries(areas[id].options).map(([name, decl]) => ({ name, decl: decl as OptionDecl<unknown>, owner: id })),
  );
}

/** Options a `targets:` entry may set for a target of this type: its own and the per-target ones. */
export function entryOptions(factory: TargetFactory): FoundOption[] {
  return [
    ...Object.entries(factory.options).map(([name, decl]) => ({ name, decl: decl as OptionDecl<unknown>, owner: factory })),
    ...areaOptions().filter((option) => option.decl.perTarget),
  ];
}

/** Targets' options by name: flags are namespaced by meaning, so two targets may share one. */
export function targetOptions(): Map<string, { decl: OptionDecl<unknown>; factories: TargetFactory[] }> {
  const out = new Map<string, { decl: OptionDecl<unknown>; factories: TargetFactory[] }>();
  for (const factory of targets) {
    for (const [name, decl] of Object.entries(factory.options)) {
      const known = out.get(name);
      if (known) known.factories.push(factory);
      else out.set(name, { decl: decl as OptionDecl<unknown>, factories: [factory] });
    }
  }
  return out;
}

export { targets };
