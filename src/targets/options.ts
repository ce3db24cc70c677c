// The `--target` option: which targets a run sends to (their own options are declared in
// src/targets/<name>/index.ts).
import { area, fail, list } from '../options/declare.js';
import type { Values, Where } from '../options/declare.js';
import { targets } from './registry.js';

export const targetArea = area('target', 'Target', {
  target: list({
    arg: 'NAME[,NAME…]',
    doc: `where avatars go: ${targets.map((t) => `\`${t.name}\``).join(', ')} (see [Targets](#targets)); a comma list sends every row to each (see [Several targets in one run](#several-targets-in-one-run)).`,
    help: targets.map((t) => `${t.name}: ${t.describe}`).join('; ') + '; a comma list (dir,matrix) sends to each',
    default: ['dir'],
    defaultDoc: 'dir',
    item: (value) => value,
  }),
});

export type TargetAreaValues = Values<typeof targetArea.options>;

/** `--target dir,matrix` and `target: [dir, matrix]` alike: names, each one known. */
export function targetNames(values: readonly string[], where: Where): string[] {
  const names = values.flatMap((value) => value.split(',')).map((name) => name.trim()).filter((name) => name !== '');
  for (const name of names) {
    if (!targets.some((t) => t.name === name)) fail(where, `one or more of ${targets.map((t) => t.name).join(', ')}`, name);
  }
  if (names.length === 0) fail(where, 'a target name', values.join(','));
  return names;
}
