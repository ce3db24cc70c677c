// The README's options tables and config-key list are the declarations, rendered: a declared option
// missing from the README, or a README row for an option that does not exist, fails here.
import { readFile } from 'node:fs/promises';
import { parseConfig } from '../../src/options/config-file.js';
import { renderReadme } from '../../src/options/readme.js';
import { resolveSettings } from '../../src/options/settings.js';
import { areas, targets } from '../../src/options/schema.js';

const README = new URL('../../README.md', import.meta.url);

test('the README options tables are what the schema declares (npm run readme:options rewrites them)', async () => {
  const readme = await readFile(README, 'utf8');
  expect(renderReadme(readme)).toBe(readme);
});

test('every area, every target and the config keys have their block in the README', async () => {
  const readme = await readFile(README, 'utf8');
  for (const id of [...Object.keys(areas), 'invocation']) expect(readme).toContain(`<!-- options:${id} -->`);
  for (const target of targets) expect(readme).toContain(`<!-- target-options:${target.name} -->`);
  expect(readme).toContain('<!-- config-keys -->');
});

test('the README\'s config file example is a valid config file', async () => {
  const readme = await readFile(README, 'utf8');
  const example = /```yaml\n(# \/etc\/avatar-import\/nightly\.yaml\n[\s\S]*?)```/.exec(readme)?.[1];
  expect(example).toBeDefined();
  const settings = resolveSettings(new Map(), parseConfig(example!, '/etc/avatar-import/nightly.yaml'));
  expect(settings.targets.map((t) => t.factory.name)).toEqual(['authgear', 'matrix', 'dir']);
  expect(settings.targets[1]!.values.input.userTemplate).toBe('@{Work Email|localpart|lower}:example.com');
  expect(settings.targets[0]!.values.input.userTemplate).toBe('{Work Email|lower}');
});
