// The README's contact-sheet screenshot, made the way a user would see it: a dry run of the
// bundled fixtures (the ten people and the edge cases, so several failure codes show) with
// --preview, opened from file:// in Debian's Chromium, captured, and reduced to a small palette PNG.
// Usage: npm run build && npx tsx scripts/contact-sheet-screenshot.ts [out.png]

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { BIN, ROOT } from './lib/bench.js';
import { launchChromium, offlinePage } from '../testkit/browser.js';
import { tempDir } from '../testkit/temp-dir.js';

const OUT = process.argv[2] ?? join(ROOT, 'docs/contact-sheet.png');

async function main(): Promise<void> {
  const dir = await tempDir('avatar-import-screenshot-');
  const people = (await readFile(join(ROOT, 'fixtures/people.csv'), 'utf8')).trimEnd().split('\n');
  const edge = (await readFile(join(ROOT, 'fixtures/edge-cases.csv'), 'utf8')).trimEnd().split('\n').slice(1);
  // One CSV: the people's columns, the edge cases' rows (semicolons) rewritten with commas and an email.
  const rows = edge.map((line) => line.split(';')).filter((cells) => cells.length === 3).map(([id, name, photo]) => `${id},"${name!.replace(/"/g, '""')}",${id}@corp.example,${photo}`);
  const csv = join(dir, 'people.csv');
  await writeFile(csv, [...people, ...rows].join('\n') + '\n');
  const sheet = join(dir, 'preview.html');
  const child = spawn(process.execPath, [BIN, csv, '--images-dir', join(ROOT, 'fixtures'), '--out', join(dir, 'avatars'), '--dry-run', '--preview', sheet, '--progress', 'off'], { stdio: 'inherit' });
  await once(child, 'close');

  const browser = await launchChromium();
  try {
    const { page, blocked } = await offlinePage(browser);
    await page.setViewportSize({ width: 1120, height: 760 });
    await page.goto(pathToFileURL(sheet).href);
    await page.waitForSelector('body[data-ready]');
    // By row, so the picture shows people who would be sent (source beside avatar) and failures.
    await page.selectOption('#sort', 'row');
    await page.waitForFunction(() => Array.from((globalThis as unknown as { document: { images: ArrayLike<{ complete: boolean }> } }).document.images).every((image) => image.complete));
    const png = await page.screenshot();
    if (blocked.length) throw new Error(`the sheet tried to reach the network: ${blocked.join(', ')}`);
    // A palette PNG: a tenth of the size, no visible loss on a UI with small thumbnails.
    const small = await sharp(png).png({ palette: true, colours: 128, compressionLevel: 9, effort: 10 }).toBuffer();
    await writeFile(OUT, small);
    console.log(`${OUT}: ${(small.length / 1024).toFixed(0)} KiB (${(png.length / 1024).toFixed(0)} KiB before the palette)`);
  } finally {
    await browser.close();
  }
}

await main();
