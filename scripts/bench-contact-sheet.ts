// How the contact sheet holds up at 10 000 rows: the time to write it (cards and thumbnails), its
// size on disk, and, in Debian's Chromium from file://, the time until it is ready (counted,
// sorted failures first), to filter by status and by code, to search, and to re-sort by row.
// Usage: npx tsx scripts/bench-contact-sheet.ts [rows]   (prints figures; writes to a temp dir)

import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pLimit from 'p-limit';
import sharp from 'sharp';
import type { RowLine } from '../src/ledger/lines.js';
import { ContactSheet } from '../src/report/preview/contact-sheet.js';
import { launchChromium, offlinePage } from '../testkit/browser.js';
import { tempDir } from '../testkit/temp-dir.js';

const ROWS = Number(process.argv[2] ?? 10_000);
const CODES = ['file_not_found', 'unsupported_image', 'image_too_small', 'user_not_found', 'duplicate_user'];

/** A distinct small JPEG per row, as a real run's thumbnails are (no two alike). */
async function picture(seed: number, edge: number): Promise<Buffer> {
  const colour = { r: (seed * 37) & 0xff, g: (seed * 91) & 0xff, b: (seed * 53) & 0xff };
  return sharp({ create: { width: edge, height: edge, channels: 3, background: colour } }).jpeg({ quality: 70 }).toBuffer();
}

async function main(): Promise<void> {
  const dir = await tempDir('avatar-import-bench-sheet-');
  const file = join(dir, 'sheet.html');
  const started = performance.now();
  const sheet = await ContactSheet.open({ file, columns: ['name', 'department'], meta: { title: `bench: ${ROWS} rows`, facts: ['run bench'], dryRun: true } });
  // Rows finish several at a time in a real run; so here.
  const limit = pLimit(8);
  await Promise.all(Array.from({ length: ROWS }, (_, i) => i + 1).map((row) => limit(async () => {
    const failed = row % 10 === 0;
    const sha = createHash('sha256').update(String(row)).digest('hex');
    const line: RowLine = {
      type: 'row', ts: '', run: 'bench', row, user: `user${row}@example.org`, target: 'dir:/srv/avatars', source: `/hr/photos/${row}.jpg`, settings: 's',
      status: failed ? 'failed' : 'ok', sourceSha256: sha, ...(failed ? { error: { code: CODES[(row / 10) % CODES.length]!, message: 'why it failed' } } : { outputSha256: sha, reason: 'dry_run' }),
    };
    await sheet.row({ line, fields: { name: `Person ${row}`, department: `Dept ${row % 40}` }, sourcePreview: await picture(row, 128), ...(failed ? {} : { avatar: await picture(row + 1, 256) }) });
  })));
  await sheet.close();
  const writeSeconds = (performance.now() - started) / 1000;
  const html = (await stat(file)).size;
  const pictures = await readdir(sheet.filesDir);
  let pictureBytes = 0;
  for (const name of pictures) pictureBytes += (await stat(join(sheet.filesDir, name))).size;

  const browser = await launchChromium();
  try {
    const { page, blocked } = await offlinePage(browser);
    const time = async (what: () => Promise<unknown>): Promise<number> => {
      const t = performance.now();
      await what();
      return performance.now() - t;
    };
    const ready = await time(async () => {
      await page.goto(pathToFileURL(file).href);
      await page.waitForSelector('body[data-ready]');
    });
    const visible = async (): Promise<number> => Number(/showing (\d+)/.exec(await page.locator('#shown').innerText())?.[1]);
    const byStatus = await time(() => page.selectOption('#status', 'failed'));
    const failedShown = await visible();
    const byCode = await time(() => page.selectOption('#code', 'user_not_found'));
    const codeShown = await visible();
    await page.selectOption('#code', '');
    await page.selectOption('#status', '');
    const search = await time(() => page.fill('#q', 'user4242@'));
    await page.fill('#q', '');
    const sortByRow = await time(() => page.selectOption('#sort', 'row'));
    const loadedImages = await page.evaluate(() => (globalThis as unknown as { document: { images: ArrayLike<{ complete: boolean; naturalWidth: number }> } }).document.images.length);

    console.log(`contact sheet, ${ROWS} rows (${ROWS / 10} failed, 5 codes):`);
    console.log(`  written in ${writeSeconds.toFixed(1)} s (${(ROWS / writeSeconds).toFixed(0)} rows/s, including making this script's own pictures)`);
    console.log(`  sheet.html ${(html / 1e6).toFixed(1)} MB, sheet_files/ ${pictures.length} JPEGs, ${(pictureBytes / 1e6).toFixed(1)} MB (${(pictureBytes / pictures.length / 1024).toFixed(1)} KiB each)`);
    console.log(`  Chromium, file://: ready (counted, sorted failures first) in ${ready.toFixed(0)} ms; ${await page.locator('#cards > article').count()} cards and ${loadedImages} <img> built (the rest as the page scrolls)`);
    console.log(`  filter by status: ${byStatus.toFixed(0)} ms (${failedShown} shown); by code: ${byCode.toFixed(0)} ms (${codeShown} shown); search: ${search.toFixed(0)} ms; sort by row: ${sortByRow.toFixed(0)} ms`);
    console.log(`  requests blocked (not file://): ${blocked.length}`);
  } finally {
    await browser.close();
  }
}

await main();
