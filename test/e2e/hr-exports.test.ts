// The exports of fixtures/hr/ (scripts/make-hr-exports.ts), each run through the CLI as the
// README's "Exports from HR systems" shows, checking the exact users, file names and outcomes.
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { bambooAuth, startBamboo } from '../../testkit/servers/bamboohr.js';
import { type CliResult, dirLedger, type LedgerRow, readLedger, rowLines, runCli, tempDir } from '../support/cli.js';
import { QUADRANTS, colourDistance, pixelAt } from '../../testkit/images.js';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/hr');

/** A copy of one fixture folder, so ledgers and avatars land in a temp dir. */
async function copyOf(name: string): Promise<string> {
  const dir = await tempDir();
  await cp(join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

const outcomes = (lines: LedgerRow[]): Array<[number | undefined, string | undefined, string | undefined]> =>
  lines.map((line) => [line.row, line.user, line.status === 'failed' ? line.error?.code : line.status]);

// The avatars only: the output folder's hidden state folder (.avatar-import/, the ledger) is not one.
const sorted = async (dir: string): Promise<string[]> => (await readdir(dir)).filter((name) => !name.startsWith('.')).sort();

function firstLines(result: CliResult, count: number): string[] {
  return result.stderr.split('\n').slice(0, count);
}

test('Excel "CSV (semicolon delimited)": Windows-1252, ";" and CRLF are detected, and the first line says so', async () => {
  const dir = await copyOf('excel-cp1252');
  const result = await runCli([join(dir, 'people.csv'), '--out', join(dir, 'avatars'), '--progress', 'off']);

  expect(result.code).toBe(0);
  expect(firstLines(result, 2)).toEqual(['encoding: windows-1252 (not valid UTF-8; --encoding to choose)', 'columns: id "Username", image "Photo"']);
  expect(outcomes(rowLines(await readLedger(dirLedger(join(dir, 'avatars'))))).sort()).toEqual([
    [1, 'anna.müller', 'ok'], [2, 'søren.ørsted', 'ok'], [3, 'françois.lefèvre', 'ok'],
  ]);
  expect(await sorted(join(dir, 'avatars'))).toEqual(['anna.müller.jpg', 'françois.lefèvre.jpg', 'søren.ørsted.jpg']);
  const everything = (await readFile(dirLedger(join(dir, 'avatars')), 'utf8')) + result.stdout + result.stderr;
  expect(everything).not.toContain('\uFFFD');
});

test('Excel "Unicode text": UTF-16LE with a BOM, tabs; photos named in decomposed Unicode are found', async () => {
  const dir = await copyOf('unicode-text');
  const result = await runCli([join(dir, 'people.txt'), '--out', join(dir, 'avatars'), '--progress', 'off']);

  expect(result.code).toBe(0);
  expect(firstLines(result, 1)).toEqual(['columns: id "User ID", image "Picture"']);
  expect(outcomes(rowLines(await readLedger(dirLedger(join(dir, 'avatars'))))).sort()).toEqual([[1, 'zoë.brontë', 'ok'], [2, 'józsef', 'ok']]);
  expect(await sorted(join(dir, 'avatars'))).toEqual(['józsef.jpg', 'zoë.brontë.jpg']);
});

test('Workday: title line, quoted headers with spaces, Windows paths, a camera name in another case, a footer', async () => {
  const dir = await copyOf('workday');
  const result = await runCli([join(dir, 'workers.csv'), '--out', join(dir, 'avatars'), '--progress', 'off', '--skip-lines', '1', '--skip-rows-matching', '^Total:']);

  expect(result.code).toBe(0); // kim.lee has no photo: skipped as no_photo, not a failure
  expect(firstLines(result, 1)).toEqual(['columns: id "Work Email", image "Photo File Name"']);
  const lines = rowLines(await readLedger(dirLedger(join(dir, 'avatars'))));
  expect(outcomes(lines).sort()).toEqual([
    [1, 'Ana.Ortiz@Corp.Example', 'ok'], [2, 'ben.okafor@corp.example', 'ok'], [3, 'hana.kim@corp.example', 'ok'], [4, 'kim.lee@corp.example', 'skipped'],
  ]);
  // The ledger's line is the file's line, title included.
  expect(lines.map((line) => [line.row, line.line]).sort()).toEqual([[1, 3], [2, 4], [3, 5], [4, 6]]);
  expect(await sorted(join(dir, 'avatars'))).toEqual(['ana.ortiz@corp.example.jpg', 'ben.okafor@corp.example.jpg', 'hana.kim@corp.example.jpg']);
  expect(result.stderr).toContain('warning: photos\\IMG_4021.jpg: photos/IMG_4021.jpg was found as photos/IMG_4021.JPG (the name differs in case)');
});

test('Workday without the options: every missing piece is named, and the footer is not taken for a person', async () => {
  const dir = await copyOf('workday');
  const result = await runCli([join(dir, 'workers.csv'), '--out', join(dir, 'avatars'), '--progress', 'off']);

  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/columns missing: no id column .*; no image column .*The headers found are "Worker Photos - All Active Workers \(run 2026-11-30 06:00\)"/);
});

describe('BambooHR: photo URLs behind the API key', () => {
  const KEY = 'b4mb00-test-key-0001';

  async function withBamboo(key: string, act: (dir: string, host: string) => Promise<void>): Promise<string[]> {
    const dir = await copyOf('bamboohr');
    const bamboo = await startBamboo({
      companyDomain: 'acme',
      keys: { [KEY]: { photos: true } },
      photos: { '39': await readFile(join(dir, 'served/39.jpg')), '40': await readFile(join(dir, 'served/40.heic')) },
    });
    try {
      const csv = join(dir, 'employees.csv');
      await writeFile(csv, (await readFile(csv, 'utf8')).replaceAll('https://api.bamboohr.com', bamboo.origin));
      await act(dir, bamboo.host);
      return bamboo.authorizations.map((auth) => auth ?? '(none)');
    } finally {
      await bamboo.close();
    }
  }

  test('the key goes to BambooHR only; photos come, HEIC and a missing one included', async () => {
    let result: CliResult | undefined;
    let ledger = '';
    const sent = await withBamboo(KEY, async (dir, host) => {
      result = await runCli([join(dir, 'employees.csv'), '--out', join(dir, 'avatars'), '--progress', 'off', '--url-auth', `${host}=BAMBOOHR_AUTH`], {
        env: { BAMBOOHR_AUTH: bambooAuth(KEY) },
      });
      ledger = await readFile(dirLedger(join(dir, 'avatars')), 'utf8');
      const lines = rowLines(await readLedger(dirLedger(join(dir, 'avatars'))));
      expect(outcomes(lines).sort()).toEqual([
        [1, 'chloe.martin@corp.example', 'ok'], [2, 'dev.patel@corp.example', 'ok'], [3, 'eli.cohen@corp.example', 'fetch_failed'],
      ]);
      expect(await sorted(join(dir, 'avatars'))).toEqual(['chloe.martin@corp.example.jpg', 'dev.patel@corp.example.jpg']);
      // Dev's photo is a HEIC taken sideways: upright in the avatar.
      const dev = await readFile(join(dir, 'avatars', 'dev.patel@corp.example.jpg'));
      const edge = (await sharp(dev).metadata()).width!;
      expect(colourDistance(await pixelAt(dev, Math.round(edge * 0.15), Math.round(edge * 0.15)), QUADRANTS.topLeft)).toBeLessThanOrEqual(12);
    });
    expect(result!.code).toBe(1);
    expect(sent).toEqual([bambooAuth(KEY), bambooAuth(KEY), bambooAuth(KEY)]);
    const secret = bambooAuth(KEY).slice('Basic '.length);
    for (const text of [ledger, result!.stdout, result!.stderr]) expect(text).not.toContain(secret);
  });

  test('a wrong key stops the run at once (exit 3) instead of failing every row, and never shows the key', async () => {
    let result: CliResult | undefined;
    const sent = await withBamboo(KEY, async (dir, host) => {
      result = await runCli([join(dir, 'employees.csv'), '--out', join(dir, 'avatars'), '--progress', 'off', '--jobs', '1', '--concurrency', '1', '--url-auth', `${host}=BAMBOOHR_AUTH`], {
        env: { BAMBOOHR_AUTH: bambooAuth('wrong-key-99999') },
      });
      expect(rowLines(await readLedger(dirLedger(join(dir, 'avatars'))))).toEqual([]);
    });
    expect(result!.code).toBe(3);
    expect(result!.stdout + result!.stderr).toMatch(/url_auth_rejected.*refused the credential from BAMBOOHR_AUTH \(--url-auth\)/);
    expect(result!.stdout + result!.stderr).not.toContain(bambooAuth('wrong-key-99999').slice(6));
    // One request: the rows behind it did not start (--jobs 1 makes the order certain).
    expect(sent).toEqual([bambooAuth('wrong-key-99999')]);
  });
});

test('Excel workbook: the "Employees" sheet under a title row; iPhone HEIC photos, one taken sideways; a case clash', async () => {
  const dir = await copyOf('xlsx');
  const result = await runCli([join(dir, 'people.xlsx'), '--sheet', 'Employees', '--skip-lines', '1', '--id-column', 'Email', '--out', join(dir, 'avatars'), '--progress', 'off']);

  expect(result.code).toBe(1);
  const lines = rowLines(await readLedger(dirLedger(join(dir, 'avatars'))));
  expect(outcomes(lines).sort()).toEqual([
    [1, 'fatima.zahra@corp.example', 'ok'], [2, 'gus.berg@corp.example', 'ok'], [3, 'Ivan.Petrov@corp.example', 'ok'], [4, 'ivan.petrov@corp.example', 'duplicate_file_name'],
  ]);
  // The ledger's line is the sheet row.
  expect(lines.map((line) => [line.row, line.line]).sort()).toEqual([[1, 3], [2, 4], [3, 5], [4, 6]]);
  expect(lines.find((line) => line.row === 4)?.error?.message).toMatch(/^"ivan\.petrov@corp\.example" would be written to ivan\.petrov@corp\.example\.jpg, the file of "Ivan\.Petrov@corp\.example" \(row 3\)/);
  expect(await sorted(join(dir, 'avatars'))).toEqual(['fatima.zahra@corp.example.jpg', 'gus.berg@corp.example.jpg', 'ivan.petrov@corp.example.jpg']);
  const gus = await readFile(join(dir, 'avatars', 'gus.berg@corp.example.jpg'));
  const edge = (await sharp(gus).metadata()).width!;
  expect(colourDistance(await pixelAt(gus, Math.round(edge * 0.15), Math.round(edge * 0.15)), QUADRANTS.topLeft)).toBeLessThanOrEqual(12);
});

test('UTF-8 with a damaged byte: that row fails as invalid_encoding naming the column and line, the others go through', async () => {
  const dir = await copyOf('damaged-utf8');
  const result = await runCli([join(dir, 'people.csv'), '--out', join(dir, 'avatars'), '--progress', 'off']);

  expect(result.code).toBe(1);
  const lines = rowLines(await readLedger(dirLedger(join(dir, 'avatars'))));
  expect(outcomes(lines).sort()).toEqual([[1, 'ana.ortiz', 'ok'], [2, '', 'invalid_encoding'], [3, 'chloé.martin', 'ok']]);
  expect(lines.find((line) => line.row === 2)?.error?.message).toBe('line 3: the "name" cell is not valid utf-8 (it reads "Bo B?rk"); fix the bytes or choose the encoding with --encoding');
  expect(await sorted(join(dir, 'avatars'))).toEqual(['ana.ortiz.jpg', 'chloé.martin.jpg']);
  expect(await readFile(dirLedger(join(dir, 'avatars')), 'utf8')).not.toContain('\uFFFD');
});
