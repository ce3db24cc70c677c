import { copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import type { Browser } from 'playwright-core';
import { launchChromium, loadEveryImage, offlinePage, type Img } from '../../testkit/browser.js';
import { readLedger, runCli, tempDir } from '../support/cli.js';
import { photo, writePeople } from '../support/photos.js';
import { FakeSynapse } from '../../testkit/servers/synapse.js';
import { sheetRows } from '../support/sheet.js';

// The reports of a real run, as an admin gets them from the CLI: the contact sheet opened in
// Chromium, the failed-rows file HR opens, the JSON log a shipper reads, and the --json summary.

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/photos');

/** 30 rows: the bundled people, the bundled bad inputs, and eight more people. */
async function thirtyRows(dir: string): Promise<string> {
  await mkdir(join(dir, 'photos'), { recursive: true });
  for (const name of await readdir(FIXTURES)) await copyFile(join(FIXTURES, name), join(dir, 'photos', name));
  await writeFile(join(dir, 'outside.jpg'), await photo(1));
  const lines = [
    'user_id,Full Name,Department,photo',
    'ana.ortiz,"Ortiz, Ana",Sales,photos/ana-ortiz.jpg',
    'ben.okafor,Ben Okafor,R&D,photos/ben-okafor.png',
    'chloe.martin,Chloé Martin,R&D,photos/chloe-martin-p3.jpg',
    'dev.patel,Dev Patel,Ops,photos/dev-patel-cmyk.jpg',
    'eli.cohen,Eli Cohen,Ops,photos/eli-animated.gif',
    'fatima.zahra,Fatima Zahra,Sales,photos/fatima-zahra.webp',
    'gus.berg,Gus Berg,Sales,photos/gus-adobe-rgb-16bit.png',
    'hana.kim,Hana Kim,R&D,photos/hana-kim.tif',
    'ivan.petrov,Ivan Petrov,Ops,photos/placeholder.jpg',
    'jo.smith,Jo Smith,Ops,photos/placeholder.jpg',
    'no.file,Missing Photo,HR,photos/does-not-exist.jpg',
    'corrupt,Not An Image,HR,photos/corrupt.jpg',
    'truncated,Cut Short,HR,photos/truncated.jpg',
    'tiny,Too Small,HR,photos/tiny.jpg',
    'vector,An SVG,HR,photos/logo.svg',
    'bomb,Pixel Bomb,HR,photos/bomb.png',
    'escape,Path Escape,HR,../outside.jpg',
    'ana.ortiz,Same User Again,HR,photos/ben-okafor.png',
    'remote,Not Allowed URL,HR,https://photos.example.org/remote.jpg',
    'too.many,Too Many Fields,HR,photos/ana-ortiz.jpg,extra',
    '=cmd|calc,Formula Person,HR,photos/missing-too.jpg',
    'zoe,Zoë Ünal,Ops,photos/does-not-exist-either.jpg',
  ];
  for (let i = 23; i <= 30; i++) {
    await writeFile(join(dir, 'photos', `p${i}.jpg`), await photo(i, 360 + i, 300));
    lines.push(`user${i},Person ${i},Dept ${i % 3},photos/p${i}.jpg`);
  }
  const csv = join(dir, 'people.csv');
  await writeFile(csv, lines.join('\n') + '\n');
  return csv;
}

interface LogEvent { time: string; level: string; msg: string; run: string; event: string; [key: string]: unknown }

async function jsonLines(file: string): Promise<LogEvent[]> {
  return (await readFile(file, 'utf8')).trimEnd().split('\n').map((line) => JSON.parse(line) as LogEvent);
}

describe('reports of a 30-row run', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  test('dry run: contact sheet in Chromium, failed-rows CSV, JSON log and --json summary agree on every row', async () => {
    const dir = await tempDir();
    const csv = await thirtyRows(dir);
    const sheet = join(dir, 'preview.html');
    const report = join(dir, 'failed.csv');
    const log = join(dir, 'run.log');
    const result = await runCli([
      csv, '--out', join(dir, 'avatars'), '--dry-run', '--preview', sheet, '--report', report,
      '--log-file', log, '--log-format', 'json', '--verbose', '--json', '--progress', 'off',
    ]);
    expect(result.code).toBe(1);

    // --json: stdout is one JSON object and nothing else.
    const summary = JSON.parse(result.stdout) as Record<string, any>;
    expect(summary).toMatchObject({ dryRun: true, exitCode: 1, rows: 30, ledger: null, fatal: null, interrupted: false });
    expect(summary.files).toEqual({ preview: sheet, report, log });

    // The log: every line parses and carries time, level, msg, run and event.
    const events = await jsonLines(log);
    for (const event of events) {
      expect(event).toEqual(expect.objectContaining({ time: expect.any(String), level: expect.any(String), msg: expect.any(String), run: summary.run, event: expect.any(String) }));
    }
    // One run_start, before any row, with the plan.
    const starts = events.filter((event) => event.event === 'run_start');
    expect(starts).toHaveLength(1);
    expect(starts[0]!['plan']).toEqual(expect.objectContaining({ csv, dryRun: true }));
    expect(events.indexOf(starts[0]!)).toBeLessThan(events.findIndex((event) => event.event === 'row'));
    expect(events.at(-1)).toMatchObject({ event: 'summary', rows: 30, status: summary.status, failures: summary.failures });
    const rows = events.filter((event) => event.event === 'row') as (LogEvent & { row: number; status: string; code?: string; user: string })[];
    expect(rows.map((row) => row.row).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const failed = rows.filter((row) => row.status === 'failed').sort((a, b) => a.row - b.row);
    const codes = new Set(failed.map((row) => row.code));
    expect(codes.size).toBeGreaterThanOrEqual(5);
    expect(summary.status.failed).toBe(failed.length);
    expect(Object.values(summary.failures.byCode as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(failed.length);

    // The failed-rows file: the CSV's columns, the failed rows in row order, formula-safe, BOM.
    const bytes = await readFile(report);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const records = parse(bytes, { bom: true, relax_column_count: false }) as string[][];
    expect(records[0]).toEqual(['user_id', 'Full Name', 'Department', 'photo', 'row', 'status', 'code', 'message', 'hint']);
    expect(records.slice(1).map((r) => [Number(r[4]), r[6]])).toEqual(failed.map((row) => [row.row, row.code]));
    expect(records.find((r) => r[1] === 'Zoë Ünal')![8]).toBe('the photo file is missing: add photos/does-not-exist-either.jpg or fix the path');
    expect(records.find((r) => r[1] === 'Formula Person')![0]).toBe("'=cmd|calc");

    // The contact sheet, in Chromium from file://.
    const { page, requests, blocked, consoleErrors } = await offlinePage(browser);
    await page.goto(pathToFileURL(sheet).href);
    await page.waitForSelector('body[data-ready]');
    const cards = page.locator('#cards > article');
    expect(await cards.count()).toBe(30);
    for (const row of rows) {
      const card = page.locator(`#row-${row.row}`);
      expect(await card.getAttribute('data-status')).toBe(row.status);
      if (row.code) expect(await card.getAttribute('data-code')).toBe(row.code);
    }
    const visible = (): Promise<number[]> => page.locator('#cards > article').evaluateAll((els) => els.map((el) => Number(el.getAttribute('data-row'))));
    // Failures first.
    expect((await visible()).slice(0, failed.length).sort((a, b) => a - b)).toEqual(failed.map((row) => row.row));
    await page.selectOption('#status', 'failed');
    expect((await visible()).sort((a, b) => a - b)).toEqual(failed.map((row) => row.row));
    await page.selectOption('#status', 'ok');
    expect(await cards.count()).toBe(summary.status.ok);
    await page.selectOption('#status', '');
    await page.selectOption('#code', 'file_not_found');
    expect((await visible()).sort((a, b) => a - b)).toEqual(failed.filter((row) => row.code === 'file_not_found').map((row) => row.row));
    await page.selectOption('#code', '');
    await page.fill('#q', 'chloé');
    expect(await visible()).toEqual([3]);
    await page.fill('#q', '');
    await page.selectOption('#sort', 'row');
    expect(await visible()).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));

    await loadEveryImage(page);
    const images = await page.locator('img').evaluateAll((els) => (els as unknown as Img[]).map((el) => ({ src: el.src, width: el.naturalWidth })));
    // Every row that would send shows its source and its avatar.
    expect(images.length).toBeGreaterThanOrEqual(2 * summary.status.ok);
    for (const image of images) {
      expect(image.src).toMatch(/^file:\/\/.*\/preview_files\/[sa]-[0-9a-f]{24}\.jpg$/);
      expect(image.width).toBeGreaterThan(0);
    }
    await page.selectOption('#sort', 'failures');
    await page.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
    const shot = join(process.env.SCREENSHOT_DIR ?? dir, 'contact-sheet-e2e.png');
    await page.screenshot({ path: shot });
    expect((await readFile(shot)).subarray(1, 4).toString()).toBe('PNG');

    expect(blocked).toEqual([]);
    for (const url of requests) expect(url).toMatch(/^file:\/\//);
    expect(consoleErrors).toEqual([]);
  });

  test('a real run: the sheet shows what was sent; the xlsx report reads back; carried-over failures are told apart the next night', async () => {
    const dir = await tempDir();
    const csv = await thirtyRows(dir);
    const out = join(dir, 'avatars');
    const ledger = join(dir, 'ledger.jsonl');
    const sheet = join(dir, 'sent.html');
    const report = join(dir, 'failed.xlsx');
    const first = await runCli([csv, '--out', out, '--ledger', ledger, '--preview', sheet, '--report', report, '--json', '--progress', 'off']);
    expect(first.code).toBe(1);
    const summary = JSON.parse(first.stdout) as Record<string, any>;
    expect(summary.ledger).toBe(ledger);
    expect(summary.failures.new).toBe(summary.status.failed);
    expect(summary.failures.carriedOver).toBe(0);
    expect(summary.targets[`dir:${out}`]).toEqual({ status: summary.status, failures: summary.failures, ledger });

    const rows = await sheetRows(sheet);
    expect(rows).toHaveLength(30);
    const sent = rows.filter((row) => row.s === 'ok');
    expect(sent.length).toBe(summary.status.ok);
    for (const row of sent) {
      expect(row.b).toBe('sent');
      expect(row.a).toMatch(/^sent_files\/a-/);
    }
    // The avatar thumbnail is the avatar that was written (named after its sha256).
    const ledgerRows = (await readLedger(ledger)).filter((line) => line.type === 'row' && line.status === 'ok');
    for (const line of ledgerRows) expect(sent.find((row) => row.r === line.row)!.a).toBe(`sent_files/a-${String(line['outputSha256']).slice(0, 24)}.jpg`);

    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.readFile(report);
    const worksheet = workbook.getWorksheet('Failed rows')!;
    expect((worksheet.getRow(1).values as unknown[]).slice(1)).toEqual(['user_id', 'Full Name', 'Department', 'photo', 'row', 'status', 'code', 'message', 'hint']);
    expect(worksheet.rowCount).toBe(1 + summary.status.failed);
    const rowNumbers = Array.from({ length: summary.status.failed }, (_, i) => worksheet.getRow(i + 2).getCell(5).value as number);
    expect(rowNumbers).toEqual([...rowNumbers].sort((a, b) => a - b));

    // The next night nothing changed: every failure is carried over, the two rows the ledger
    // cannot tie to a user's own history (a malformed record, a duplicate) too: they repeat the
    // last run's row problems exactly.
    const second = await runCli([csv, '--out', out, '--ledger', ledger, '--json', '--progress', 'off']);
    const again = JSON.parse(second.stdout) as Record<string, any>;
    expect(again.status.failed).toBe(summary.status.failed);
    expect(again.failures).toMatchObject({ new: 0, carriedOver: summary.status.failed });
    expect(second.code).toBe(4);
  });

  test('text logs, and option errors before anything is read', async () => {
    const dir = await tempDir();
    const csv = await thirtyRows(dir);
    const log = join(dir, 'run.log');
    const result = await runCli([csv, '--out', join(dir, 'avatars'), '--dry-run', '--log-file', log, '--progress-interval', '1', '--progress', 'off']);
    expect(result.code).toBe(1);
    const text = await readFile(log, 'utf8');
    expect(text).toMatch(/^\d{4}-\d\d-\d\dT\S+Z INFO  /m);
    expect(text).toMatch(/ (WARN|INFO) +30 rows: \d+ ok, 0 skipped, \d+ failed/);

    for (const [args, message] of [
      [['--preview', join(dir, 'x.pdf')], '--preview expects a file name ending in .html'],
      [['--report', join(dir, 'no/such/folder/failed.csv')], 'does not exist'],
      [['--log-format', 'xml'], '--log-format'],
      [['--progress-interval', '0'], '--progress-interval'],
    ] as const) {
      const bad = await runCli([csv, '--out', join(dir, 'avatars2'), ...args]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain(message);
    }
    expect(await readdir(dir)).not.toContain('avatars2');
  });
});

describe('reports of a run to several targets', () => {
  let synapse: FakeSynapse | undefined;
  afterEach(async () => {
    await synapse?.close();
  });

  test('--json has a block per target; the failed-rows file says which target each failure is for', async () => {
    synapse = await FakeSynapse.start();
    for (const name of ['ana', 'bo']) synapse.addUser(name); // cy is not on the server
    const dir = await tempDir();
    await writePeople(dir, [
      { id: 'ana', image: 'photos/ana.jpg', seed: 1 },
      { id: 'bo', image: 'photos/missing.jpg' },
      { id: 'cy', image: 'photos/cy.jpg', seed: 3 },
    ], 'username,name,photo');
    await writeFile(join(dir, 'matrix.token'), synapse.adminToken + '\n', { mode: 0o600 });
    const config = join(dir, 'nightly.yaml');
    await writeFile(config, [
      // One ledger for both targets (each would have its own by default), read back below.
      'csv: people.csv', 'ledger: people.ledger.jsonl', 'progress: "off"', 'targets:',
      '  - type: dir', '    out: avatars',
      '  - type: matrix', `    homeserver: ${synapse.url}`, '    token-file: matrix.token', '    user-template: "@{username}:example.org"', '',
    ].join('\n'));
    const report = join(dir, 'failed.csv');
    const sheet = join(dir, 'sheet.html');
    const result = await runCli(['--config', config, '--json', '--report', report, '--preview', sheet], { cwd: dir });
    expect(result.code).toBe(1);
    const summary = JSON.parse(result.stdout) as Record<string, any>;
    const [dirTarget, matrixTarget] = Object.keys(summary.targets).sort();
    expect(dirTarget).toMatch(/^dir:/);
    expect(matrixTarget).toMatch(/^matrix:/);
    expect(summary.targets[dirTarget!]).toMatchObject({ status: { ok: 2, failed: 1 }, failures: { byCode: { file_not_found: 1 } } });
    expect(summary.targets[matrixTarget!]).toMatchObject({ status: { ok: 1, failed: 2 }, failures: { byCode: { file_not_found: 1, user_not_found: 1 } } });
    expect(summary.status).toMatchObject({ ok: 3, failed: 3 });
    expect(summary.targets[dirTarget!].ledger).toBe(summary.ledger);

    const records = parse(await readFile(report), { bom: true }) as string[][];
    expect(records[0]).toEqual(['username', 'name', 'photo', 'row', 'target', 'status', 'code', 'message', 'hint']);
    expect(records.slice(1).map((r) => [r[0], r[4]!.split(':')[0], r[6]]).sort()).toEqual([
      ['bo', 'dir', 'file_not_found'], ['bo', 'matrix', 'file_not_found'], ['cy', 'matrix', 'user_not_found'],
    ]);
    // Afterwards, through the CLI: the ledger (both targets share it here) makes the same cards
    // again, every avatar made again with its own target's settings and identical to what was sent.
    expect(summary.targets[matrixTarget!].ledger).toBe(summary.targets[dirTarget!].ledger);
    const again = join(dir, 'again.html');
    const preview = await runCli(['ledger', 'preview', '--ledger', summary.targets[dirTarget!].ledger, '--run', summary.run, '--preview', again], { cwd: dir });
    expect(preview.stderr).toBe('');
    expect(preview.code).toBe(0);
    expect(preview.stdout).toContain(`6 rows of run ${summary.run}; 3 avatars made again identical to what was sent, 0 rows without pictures`);
    expect((await sheetRows(again)).map((row) => `${row.u} ${row.t.split(':')[0]} ${row.s}`).sort()).toEqual([
      '@ana:example.org matrix ok', '@bo:example.org matrix failed', '@cy:example.org matrix failed', 'ana dir ok', 'bo dir failed', 'cy dir ok',
    ]);
    // One card per row and target.
    expect((await sheetRows(sheet)).map((row) => `${row.u} ${row.t.split(':')[0]} ${row.s}`).sort()).toEqual([
      '@ana:example.org matrix ok', '@bo:example.org matrix failed', '@cy:example.org matrix failed', 'ana dir ok', 'bo dir failed', 'cy dir ok',
    ]);
  });
});
