// The README's options tables and config-key list are the declarations, rendered: a declared option
// missing from the README, or a README row for an option that does not exist, fails here.
import { readFile } from 'node:fs/promises';
import { renderReadme } from '../../src/options/readme.js';
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
