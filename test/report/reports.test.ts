import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger } from '../../src/log.js';
import type { RowLine } from '../../src/ledger/lines.js';
import { openRunLog, Reports, teeLogger } from '../../src/report/reports.js';
import type { ProgressSnapshot } from '../../src/report/progress.js';
import { tempDir } from '../support/cli.js';
import { sheetRows } from '../support/sheet.js';

// The reports of one run, fed as the pipeline feeds them: every event the JSON log promises.

const line = (row: number, status: RowLine['status'], extra: Partial<RowLine> = {}): RowLine =>
  ({ type: 'row', ts: '', run: 'r1', row, user: `u${row}`, target: 'dir:/x', source: '', settings: 's', status, ...extra }) as RowLine;

const FACTS = {
  run: 'r1', input: '/hr/people.csv', targets: ['dir:/x'], dryRun: false, headers: ['id', 'name', 'photo'], delimiter: ',',
  encoding: 'utf8', idColumns: ['id'], imageColumn: 'photo', maxPixels: 1e8,
};

describe('the reports of a run', () => {
  test('the JSON log: run_start with the plan, progress ticks, a row event per row at --verbose, warnings, the summary; secrets masked', async () => {
    const dir = await tempDir();
    const file = join(dir, 'run.log');
    const terminal = createLogger({ write: () => {} });
    const output = { logFile: file, logFormat: 'json' as const, verbose: true };
    const events = await openRunLog(output, 'r1', terminal.redact);
    const log = teeLogger(terminal, events);
    log.addSecret('s3cr3t-token');
    const reports = await Reports.open(output, FACTS, events);

    reports.runStart('/hr/people.csv → dir:/x', { csv: '/hr/people.csv', jobs: 4 });
    const tick: ProgressSnapshot = { done: 1, total: 2, rowsPerSecond: 1, mbPerSecond: 0.5, etaSeconds: 1, ok: 1, skipped: 0, failed: 0, codes: {} };
    reports.progress(tick);
    await reports.row({ line: line(1, 'ok', { bytes: 1000, edge: 256 }), bytesRead: 500_000 });
    log.warn('the server said 503 to token s3cr3t-token');
    await reports.row({ line: line(2, 'failed', { error: { code: 'file_not_found', message: 'gone', retryable: true } }) });
    const summary = await reports.finish({ exitCode: 1, startedAt: 0, finishedAt: 2000, ledger: '/l.jsonl', interrupted: false });
    events!.close();

    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n').map((text) => JSON.parse(text) as Record<string, unknown>);
    for (const entry of lines) expect(entry).toEqual(expect.objectContaining({ time: expect.any(String), level: expect.any(String), msg: expect.any(String), run: 'r1', event: expect.any(String) }));
    expect(lines.map((entry) => entry['event'])).toEqual(['run_start', 'progress', 'row', 'warning', 'row', 'summary']);
    expect(lines[0]).toMatchObject({ level: 'info', plan: { csv: '/hr/people.csv', jobs: 4 } });
    expect(lines[1]).toMatchObject({ done: 1, total: 2, rowsPerSecond: 1, mbPerSecond: 0.5, etaSeconds: 1, failed: 0, codes: {} });
    expect(lines[2]).toMatchObject({ level: 'info', row: 1, user: 'u1', target: 'dir:/x', status: 'ok', bytes: 1000, edge: 256, msg: 'row 1 u1: ok' });
    expect(lines[3]).toMatchObject({ level: 'warn', msg: 'the server said 503 to token ***' });
    expect(lines[4]).toMatchObject({ level: 'warn', row: 2, status: 'failed', code: 'file_not_found', message: 'gone', retryable: true });
    expect(lines[5]).toMatchObject({ level: 'warn', msg: '2 rows: 1 ok, 0 skipped, 1 failed', status: summary.status, failures: summary.failures, exitCode: 1 });
    expect(JSON.stringify(lines)).not.toContain('s3cr3t');
    expect(summary).toMatchObject({ rows: 2, imageBytesRead: null, files: { log: file } });
    expect(reports.counts.bytesRead).toBe(500_000);
  });

  test('without --verbose, rows are not logged one by one', async () => {
    const dir = await tempDir();
    const file = join(dir, 'run.log');
    const output = { logFile: file, logFormat: 'json' as const, verbose: false };
    const events = await openRunLog(output, 'r1', (t) => t);
    const reports = await Reports.open(output, FACTS, events);
    await reports.row({ line: line(1, 'ok') });
    await reports.finish({ exitCode: 0, startedAt: 0, finishedAt: 1, ledger: undefined, interrupted: false });
    events!.close();
    const kinds = (await readFile(file, 'utf8')).trimEnd().split('\n').map((text) => (JSON.parse(text) as { event: string }).event);
    expect(kinds).toEqual(['summary']);
  });

  test('a run that ends in an unexpected error: the sheet is closed with a note, no failed-rows file is written', async () => {
    const dir = await tempDir();
    const output = { preview: join(dir, 'sheet.html'), report: join(dir, 'failed.csv'), logFormat: 'text' as const, verbose: false };
    const reports = await Reports.open(output, FACTS, undefined);
    await reports.row({ line: line(1, 'failed', { error: { code: 'file_not_found', message: 'gone' } }), fields: { id: 'u1', name: 'U', photo: 'p.jpg' } });
    await reports.abandon();
    expect(await readdir(dir)).toEqual(['sheet.html', 'sheet_files']);
    expect(await readFile(join(dir, 'sheet.html'), 'utf8')).toContain('the run ended with an error before its end');
    expect((await sheetRows(join(dir, 'sheet.html'))).map((row) => row.r)).toEqual([1]);
  });
});
