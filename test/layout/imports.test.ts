// Who may import whom, checked on the files themselves: the shipped code never reaches into test
// helpers, and the benchmark scripts share test tooling only through testkit/ (issue 9), so a
// script keeps working whatever the tests do with their own helpers.
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SPECIFIER = /(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g;

async function sources(folder: string): Promise<string[]> {
  const entries = await readdir(join(ROOT, folder), { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && /\.(ts|mjs)$/.test(e.name)).map((e) => join(e.parentPath, e.name));
}

/** Every relative import of the files under `folder` that lands under one of `forbidden`. */
async function reaching(folder: string, forbidden: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const file of await sources(folder)) {
    for (const [, specifier] of (await readFile(file, 'utf8')).matchAll(SPECIFIER)) {
      const target = relative(ROOT, resolve(dirname(file), specifier!));
      if (forbidden.some((f) => target.startsWith(`${f}/`))) found.push(`${relative(ROOT, file)} → ${target}`);
    }
  }
  return found;
}

describe('layering', () => {
  test('scripts/ import shared test tooling from testkit/, never from test/', async () => {
    expect(await reaching('scripts', ['test'])).toEqual([]);
  });

  test('src/ imports neither test/ nor testkit/', async () => {
    expect(await reaching('src', ['test', 'testkit', 'scripts'])).toEqual([]);
  });

  test('testkit/ does not import from test/', async () => {
    expect(await reaching('testkit', ['test'])).toEqual([]);
  });
});
