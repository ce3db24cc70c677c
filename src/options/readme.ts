// The README's options tables and config-key list, written from the declarations: the README
// cannot drift from what the tool accepts. `npm run readme:options` rewrites the blocks between
// `<!-- options:<area> -->`, `<!-- target-options:<name> -->` and `<!-- config-keys -->` markers
// and their `<!-- /… -->` ends; test/options/readme.test.ts fails when the README is out of date.
import type { OptionDecl, OptionTable } from './declare.js';
import { areas, invocationArea, targets } from './schema.js';
import type { AreaId } from './schema.js';

const escape = (text: string): string => text.replace(/(?<!\\)\|/g, '\\|');

function flagCell(name: string, decl: OptionDecl<unknown>): string {
  const arg = decl.kind === 'boolean' ? '' : ` ${decl.choices ? decl.choices.join('\\|') : (decl.arg ?? 'VALUE')}`;
  return `${decl.alias ? `\`-${decl.alias}\`, ` : ''}\`--${name}${escape(arg)}\``;
}

function defaultCell(decl: OptionDecl<unknown>): string {
  if (decl.defaultDoc !== undefined) return decl.defaultDoc;
  if (decl.default === undefined) return '';
  if (decl.kind === 'boolean') return decl.default ? 'on' : 'off';
  if (Array.isArray(decl.default)) return decl.default.join(',') || 'none';
  return String(decl.default);
}

function rows(table: OptionTable, skip: readonly string[] = []): string[] {
  return Object.entries(table)
    .filter(([name]) => !skip.includes(name))
    .map(([name, decl]) => `| ${flagCell(name, decl)} | ${escape(defaultCell(decl))} | ${decl.doc} |`.replace('|  |', '| |'));
}

/** One area's table (the positional `csv` is described in the usage line, not here). */
export function areaTable(id: AreaId | 'invocation'): string {
  const area = id === 'invocation' ? invocationArea : areas[id];
  return ['| option | default | meaning |', '|---|---|---|', ...rows(area.options, ['csv'])].join('\n');
}

/** A target's own options, and the rows in flight it defaults to. */
export function targetTable(name: string): string {
  const factory = targets.find((t) => t.name === name);
  if (!factory) throw new Error(`no target ${name}`);
  return [
    '| option | default | meaning |',
    '|---|---|---|',
    ...rows(factory.options),
    `| \`--concurrency N\` | ${factory.defaultConcurrency} | rows in flight to this target (see [Performance](#performance)). |`,
  ].join('\n');
}

/** Every config-file key: where it may appear and what it takes. */
export function configKeys(): string {
  const out = ['| key | where | value |', '|---|---|---|'];
  const value = (decl: OptionDecl<unknown>): string =>
    decl.kind === 'boolean' ? '`true` or `false`' : decl.kind === 'list' ? 'a list, or one value' : decl.choices ? decl.choices.map((c) => `\`${c}\``).join(', ') : `${decl.arg ?? 'a value'}${decl.kind === 'bytes' ? ' (a size: `500k`, `5MiB`)' : ''}`;
  for (const id of Object.keys(areas) as AreaId[]) {
    for (const [name, decl] of Object.entries(areas[id].options as OptionTable)) {
      const see = name === 'csv' ? 'the CSV, when not given as the first argument' : `see \`--${name}\``;
      out.push(`| \`${name}\` | ${decl.perTarget ? 'top level, or a `targets:` entry (for that target)' : 'top level'} | ${escape(value(decl))}: ${see} |`);
    }
  }
  out.push('| `targets` | top level | a list of targets, each a mapping with `type` and that target\'s keys |');
  out.push(`| \`type\` | a \`targets:\` entry | ${targets.map((t) => `\`${t.name}\``).join(', ')} |`);
  for (const factory of targets) {
    for (const [name, decl] of Object.entries(factory.options)) {
      out.push(`| \`${name}\` | ${/^[aeiou]/.test(factory.name) ? 'an' : 'a'} \`${factory.name}\` entry (or top level) | ${escape(value(decl))}: see \`--${name}\` |`);
    }
  }
  return out.join('\n');
}

/** The README with every generated block rewritten. */
export function renderReadme(readme: string): string {
  return readme.replace(/<!-- (options|target-options|config-keys)(?::([a-z-]+))? -->\n[\s\S]*?<!-- \/\1(?::\2)? -->/g, (_whole, kind: string, id: string | undefined) => {
    const body = kind === 'options' ? areaTable(id as AreaId) : kind === 'target-options' ? targetTable(id!) : configKeys();
    const tag = id ? `${kind}:${id}` : kind;
    return `<!-- ${tag} -->\n${body}\n<!-- /${tag} -->`;
  });
}
