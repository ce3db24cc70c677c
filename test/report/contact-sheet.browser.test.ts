import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import type { RowLine } from '../../src/ledger/lines.js';
import { normalise } from '../../src/image/normalise.js';
import { ContactSheet } from '../../src/report/preview/contact-sheet.js';
import { sourceThumbnail } from '../../src/report/preview/thumbnail.js';
import type { RowEvent } from '../../src/report/events.js';
import { launchChromium, loadEveryImage, offlinePage, type Img } from '../../testkit/browser.js';
import { tempDir } from '../support/cli.js';
import { photo } from '../support/photos.js';

// The contact sheet as an admin sees it: opened from file:// in Debian's Chromium, with no network.

const OPTIONS = { size: 256, minSize: 96, maxBytes: 1 << 20, quality: 85, crop: 'centre', background: 'white', allowSvg: false, maxPixels: 1e8 } as const;

const base = (row: number, user: string): RowLine => ({
  type: 'row', ts: '2026-11-30T20:00:00.000Z', run: 'r1', row, line: row + 1, user, target: 'dir:/srv/avatars', source: `photos/p${row}.jpg`, settings: 's', status: 'ok',
});

const FAILURES: Record<number, string> = {
  21: 'file_not_found', 22: 'file_not_found', 23: 'file_not_found', 24: 'unsupported_image', 25: 'unsupported_image', 26: 'duplicate_user', 27: 'image_too_small', 30: 'user_not_found',
};
const SKIPPED = [28, 29];
const EVIL = '<img src=x onerror="window.pwned=1">';

/** 30 rows: 20 sent, 8 failed with 5 codes, 2 skipped; rows finish out of order. */
async function events(): Promise<RowEvent[]> {
  const out: RowEvent[] = [];
  const avatars: string[] = [];
  for (let row = 1; row <= 30; row++) {
    const user = row === 13 ? EVIL : `user${row}`;
    const fields = { user_id: user, name: `Person ${row}`, department: row % 2 ? 'Sales' : 'R&D', photo: `photos/p${row}.jpg` };
    const code = FAILURES[row];
    if (code) {
      const small = code === 'image_too_small' ? await photo(row, 60, 50) : undefined;
      out.push({
        line: { ...base(row, user), status: 'failed', error: { code, message: `${code.replace(/_/g, ' ')} for row ${row}` } },
        fields,
        ...(small ? { sourcePreview: await sourceThumbnail(small, 1e8) } : {}),
      });
    } else if (SKIPPED.includes(row)) {
      // Unchanged since an earlier run: nothing read, but the avatar is one this run showed too.
      out.push({ line: { ...base(row, user), status: 'skipped', outputSha256: avatars[row - 18] }, fields });
    } else {
      const source = await photo(row, 400, 300);
      const avatar = await normalise(source, OPTIONS);
      avatars.push(avatar.sha256);
      out.push({
        line: { ...base(row, user), status: 'ok', sourceSha256: createHash('sha256').update(source).digest('hex'), outputSha256: avatar.sha256 },
        fields, sourcePreview: (await sourceThumbnail(source, 1e8))!, avatar: avatar.jpeg,
      });
    }
  }
  // Rows finish in any order; the sheet sorts them itself.
  return [...out.slice(10), ...out.slice(0, 10)];
}

describe('contact sheet in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  test('every row has its card and status, filters work, every picture loads, nothing leaves the machine', async () => {
    const dir = await tempDir();
    const file = join(dir, 'sheet.html');
    const sheet = await ContactSheet.open({
      file, columns: ['name', 'department'], meta: { title: 'people.csv → dir:/srv/avatars', facts: ['run r1'], dryRun: false },
    });
    for (const event of await events()) await sheet.row(event);
    await sheet.close();

    // Small JPEGs only, one per distinct picture: 20 sources + 20 avatars + the too-small source.
    const files = await readdir(join(dir, 'sheet_files'));
    expect(files).toHaveLength(41);
    for (const name of files) expect((await stat(join(dir, 'sheet_files', name))).size).toBeLessThan(20_000);

    const { page, requests, blocked, consoleErrors } = await offlinePage(browser);
    await page.goto(pathToFileURL(file).href);
    await page.waitForSelector('body[data-ready]');

    // Every row, with its status.
    const cards = page.locator('#cards > article');
    expect(await cards.count()).toBe(30);
    for (let row = 1; row <= 30; row++) {
      const expected = FAILURES[row] ? 'failed' : SKIPPED.includes(row) ? 'skipped' : 'ok';
      expect(await page.locator(`#row-${row}`).getAttribute('data-status')).toBe(expected);
      if (FAILURES[row]) expect(await page.locator(`#row-${row}`).getAttribute('data-code')).toBe(FAILURES[row]);
    }
    expect(await page.locator('#row-7').innerText()).toContain('Person 7');
    expect(await page.locator('#row-8').innerText()).toContain('R&D');
    // A user id full of markup is shown as text and runs nothing.
    expect(await page.locator('#row-13 h2').innerText()).toBe(EVIL);
    expect(await page.evaluate(() => (globalThis as { pwned?: number }).pwned)).toBeUndefined();

    // Failures first, each group by row.
    const order = async (): Promise<number[]> => (await page.locator('#cards > article:not([hidden])').evaluateAll((els) => els.map((el) => Number(el.getAttribute('data-row')))));
    expect(await order()).toEqual([21, 22, 23, 24, 25, 26, 27, 30, ...Array.from({ length: 20 }, (_, i) => i + 1), 28, 29]);
    const summary = await page.locator('#summary').innerText();
    expect(summary).toMatch(/30 rows/);
    expect(summary).toMatch(/8 failed/);
    expect(summary).toMatch(/20 ok/);
    expect(summary).toMatch(/2 skipped/);
    expect(summary).toMatch(/3 file_not_found/);

    // Filtering by status, then by code, changes what is visible.
    await page.selectOption('#status', 'failed');
    expect(await order()).toEqual([21, 22, 23, 24, 25, 26, 27, 30]);
    await page.selectOption('#code', 'unsupported_image');
    expect(await order()).toEqual([24, 25]);
    await page.selectOption('#code', '');
    await page.selectOption('#status', 'skipped');
    expect(await order()).toEqual([28, 29]);
    await page.selectOption('#status', '');
    // The summary chips filter too.
    await page.locator('#summary button', { hasText: 'file_not_found' }).click();
    expect(await order()).toEqual([21, 22, 23]);
    expect(await page.locator('#shown').innerText()).toBe('showing 3 of 30');
    await page.locator('#summary button', { hasText: '30 rows' }).click();

    // Search by user (or any text on the card), and sort by row.
    await page.fill('#q', 'user1');
    expect(await order()).toEqual([1, 10, 11, 12, 14, 15, 16, 17, 18, 19]);
    await page.fill('#q', 'person 27');
    expect(await order()).toEqual([27]);
    await page.fill('#q', '');
    await page.selectOption('#sort', 'row');
    expect(await order()).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));

    // Every picture loads once scrolled into view (they are lazy).
    await loadEveryImage(page);
    const images = await page.locator('img').evaluateAll((els) => (els as unknown as Img[]).map((el) => ({ src: el.src, width: el.naturalWidth })));
    expect(images).toHaveLength(20 * 2 + 1 + 2);
    for (const image of images) {
      expect(image.src).toMatch(/^file:\/\/.*\/sheet_files\/[sa]-[0-9a-f]{24}\.jpg$/);
      expect(image.width).toBeGreaterThan(0);
    }

    await page.selectOption('#sort', 'failures');
    await page.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
    const shot = join(process.env.SCREENSHOT_DIR ?? dir, 'contact-sheet.png');
    await page.screenshot({ path: shot, fullPage: false });
    expect((await readFile(shot)).subarray(1, 4).toString()).toBe('PNG');

    expect(blocked).toEqual([]);
    expect(requests.length).toBeGreaterThan(0);
    for (const url of requests) expect(url).toMatch(/^file:\/\//);
    expect(consoleErrors).toEqual([]);
  });
});
