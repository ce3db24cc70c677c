// --print-config: the settings a run would use, as a config file that gives the same run (so an
// operator can check what cron will do, and keep the output as the file). Secrets are masked.
import { stringify } from 'yaml';
import { camel } from './declare.js';
import type { OptionDecl, OptionTable } from './declare.js';
import { areas } from './schema.js';
import type { AreaId } from './schema.js';
import type { Settings } from './settings.js';

export function printConfig(settings: Settings): string {
  const doc: Record<string, unknown> = {};
  for (const id of Object.keys(areas) as AreaId[]) {
    if (id === 'target') continue;
    put(doc, areas[id].options, settings[id] as Record<string, unknown>);
  }
  doc['targets'] = settings.targets.map((target) => {
    const entry: Record<string, unknown> = { type: target.factory.name };
    put(entry, target.factory.options, target.options);
    // Per-target options, where this target's value differs from the top level.
    for (const id of Object.keys(areas) as AreaId[]) {
      for (const [name, decl] of Object.entries(areas[id].options as OptionTable)) {
        if (!decl.perTarget) continue;
        const mine = (target.values[id] as Record<string, unknown>)[camel(name)];
        const shared = (settings[id] as Record<string, unknown>)[camel(name)];
        if (mine !== undefined && JSON.stringify(mine) !== JSON.stringify(shared)) entry[name] = shown(decl, mine);
      }
    }
    return entry;
  });
  const source = settings.configFile ? `the command line, then ${settings.configFile}, then defaults` : 'the command line, then defaults';
  return `# avatar-import effective settings (from ${source})\n${stringify(doc, { lineWidth: 0 })}`;
}

function put(out: Record<string, unknown>, table: OptionTable, values: Readonly<Record<string, unknown>>): void {
  for (const [name, decl] of Object.entries(table)) {
    if (decl.cliOnly) continue;
    const value = values[camel(name)];
    if (value !== undefined) out[name] = shown(decl, value);
  }
}

function shown(decl: OptionDecl<unknown>, value: unknown): unknown {
  if (decl.secret) return '***';
  return Array.isArray(value) ? [...value] : value;
}
