// The workbook half of bench-memory: the same people as a CSV and as an .xlsx (written as Excel
// writes text, through the shared-strings table), each dry-run through the CLI, peak RSS compared.
// The workbook is streamed row by row (exceljs's WorkbookReader); what it holds beyond the CSV
// path is the shared-strings table, which grows with the distinct texts of the sheet.
import ExcelJS from 'exceljs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { benchDir, measureCli, smallPhotos, summaryLine, writeCsv } from './bench.js';

const PHOTOS = 10;

async function writeXlsx(path: string, rows: number): Promise<void> {
  const writer = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: path, useSharedStrings: true });
  const sheet = writer.addWorksheet('People');
  sheet.addRow(['user_id', 'name', 'photo']).commit();
  for (let i = 0; i < rows; i++) sheet.addRow([`user${i}`, `Person ${i}`, `photos/p${i % PHOTOS}.jpg`]).commit();
  sheet.commit();
  await writer.commit();
}

export async function benchXlsx(rowsList: number[]): Promise<void> {
  const results: { rows: number; csvMiB: number; xlsxMiB: number; csvSeconds: number; xlsxSeconds: number }[] = [];
  for (const rows of rowsList) {
    const dir = await benchDir(`memory-xlsx-${rows}`);
    await smallPhotos(dir, PHOTOS);
    const csv = join(dir, 'people.csv');
    const xlsx = join(dir, 'people.xlsx');
    await writeCsv(csv, rows, PHOTOS);
    await rm(xlsx, { force: true });
    await writeXlsx(xlsx, rows);
    const viaCsv = await measureCli([csv, '--out', join(dir, 'dry-avatars'), '--dry-run', '--progress', 'off']);
    const viaXlsx = await measureCli([xlsx, '--out', join(dir, 'dry-avatars'), '--dry-run', '--progress', 'off']);
    process.stderr.write(`${rows} rows: csv ${summaryLine(viaCsv.stdout)}; xlsx ${summaryLine(viaXlsx.stdout)}\n`);
    if (!new RegExp(`${rows} rows in`).test(summaryLine(viaXlsx.stdout))) throw new Error(`the workbook run did not read every row:\n${viaXlsx.stdout}\n${viaXlsx.stderr}`);
    results.push({ rows, csvMiB: viaCsv.peakRssMiB, xlsxMiB: viaXlsx.peakRssMiB, csvSeconds: viaCsv.seconds, xlsxSeconds: viaXlsx.seconds });
  }
  console.log('\nbench-memory xlsx: peak RSS of a dry run, the same rows as CSV and as .xlsx (target: within the CSV path\'s ≤ 250 MB)');
  console.log('rows       csv (peak, wall)          xlsx (peak, wall)');
  for (const r of results) {
    console.log(`${String(r.rows).padEnd(10)} ${r.csvMiB.toFixed(0).padStart(5)} MiB ${r.csvSeconds.toFixed(1).padStart(7)} s      ${r.xlsxMiB.toFixed(0).padStart(5)} MiB ${r.xlsxSeconds.toFixed(1).padStart(7)} s`);
  }
}
