// Rewrites the README's options tables and config-key list from the option declarations.
import { readFile, writeFile } from 'node:fs/promises';
import { renderReadme } from '../src/options/readme.js';

const path = new URL('../README.md', import.meta.url);
const before = await readFile(path, 'utf8');
const after = renderReadme(before);
await writeFile(path, after);
console.log(before === after ? 'README.md: options tables already up to date' : 'README.md: options tables rewritten');
