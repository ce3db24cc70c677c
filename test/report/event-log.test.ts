import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger } from '../../src/log.js';
import { openEventLog } from '../../src/report/event-log.js';
import { RunCounts } from '../../src/report/run-counts.js';
import { jsonSummary } from '../../src/report/json-summary.js';
import type { RowLine } from '../../src/ledger/lines.js';
import { tempDir } from '../support/cli.js';

// The run's events for log shippers (JSON lines) and people (text), through pino.

describe('event log', () => {
  test('JSON lines: each parses and carries time, level, msg, run, event and its fields; secrets masked', async () => {
    const dir = await tempDir();
    const file = join(dir, 'run.log');
    await writeFile(file, '{"earlier":"run"}\n');
    const masks = createLogger({ write: () => {} });
    masks.addSecret('syt_SECRET_token');
    const log = openEventLog({ file, format: 'json', run: 'r1', verbose: false, redact: masks.redact });
    log.write('info', 'run_start', 'people.csv → dir:/x', { plan: { csv: 'people.csv', jobs: 4 } });
    log.write('warn', 'warning', 'the server said: bad token syt_SECRET_token');
    log.write('debug', 'row', 'not at this level');
    log.write('info', 'summary', '3 rows', { status: { ok: 3 } });
    log.close();

    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    expect(lines[0]).toBe('{"earlier":"run"}'); // appended, never truncated
    const events = lines.slice(1).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events.map((e) => e['event'])).toEqual(['run_start', 'warning', 'summary']);
    for (const event of events) {
      expect(typeof event['time']).toBe('string');
      expect(new Date(event['time'] as string).toISOString()).toBe(event['time']);
      expect(event['run']).toBe('r1');
      expect(['info', 'warn']).toContain(event['level']);
      expect(typeof event['msg']).toBe('string');
    }
    expect(events[0]).toMatchObject({ level: 'info', msg: 'people.csv → dir:/x', plan: { csv: 'people.csv', jobs: 4 } });
    expect(events[1]).toMatchObject({ level: 'warn', msg: 'the server said: bad token ***' });
    expect(lines.join('\n')).not.toContain('SECRET');
  });

  test('debug events only with --verbose', async () => {
    const dir = await tempDir();
    const file = join(dir, 'run.log');
    const log = openEventLog({ file, format: 'json', run: 'r1', verbose: true, redact: (t) => t });
    log.write('debug', 'row', 'row 1 user1: ok', { row: 1, user: 'user1', status: 'ok' });
    log.close();
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ level: 'debug', event: 'row', row: 1, user: 'user1', status: 'ok' });
  });

  test('text lines: time, level and message, then the simple fields', async () => {
    const dir = await tempDir();
    const file = join(dir, 'run.log');
    const log = openEventLog({ file, format: 'text', run: 'r1', verbose: false, redact: (t) => t.replace('hunter2', '***') });
    log.write('warn', 'row', 'row 3 ana: failed: file_not_found', { row: 3, user: 'ana', code: 'file_not_found', message: 'looked for a b', pw: 'hunter2' });
    log.close();
    expect(await readFile(file, 'utf8')).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z WARN  row 3 ana: failed: file_not_found {2}row=3 user=ana code=file_not_found message="looked for a b" pw=\*\*\*\n$/);
  });
});

describe('--json summary', () => {
  const line = (row: number, target: string, status: RowLine['status'], extra: Partial<RowLine> = {}): RowLine =>
    ({ type: 'row', ts: '', run: 'r', row, user: `u${row}`, target, source: '', settings: 's', status, ...extra }) as RowLine;

  test('counts per target and status, failures by code, new against carried over, durations, the ledger', () => {
    const counts = new RunCounts();
    counts.row({ line: line(1, 'dir:/a', 'ok'), bytesRead: 1000 });
    counts.row({ line: line(2, 'dir:/a', 'skipped', { reason: 'changed_by_user' }) });
    counts.row({ line: line(3, 'dir:/a', 'failed', { error: { code: 'file_not_found', message: '' } }) });
    // Carried over: the user's line before this run failed the same way on the same input.
    counts.row({ line: line(4, 'dir:/a', 'failed', { reason: 'unchanged_since_failure', error: { code: 'unsupported_image', message: '' } }), previous: line(4, 'dir:/a', 'failed', { error: { code: 'unsupported_image', message: '' } }) });
    counts.row({ line: line(5, 'matrix:hs', 'failed', { error: { code: 'file_not_found', message: '' } }), previous: line(5, 'matrix:hs', 'failed', { error: { code: 'file_not_found', message: '' } }) });
    // New: it failed before, but with another code.
    counts.row({ line: line(7, 'matrix:hs', 'failed', { error: { code: 'user_not_found', message: '' } }), previous: line(7, 'matrix:hs', 'failed', { error: { code: 'file_not_found', message: '' } }) });
    counts.row({ line: line(6, 'matrix:hs', 'ok') });

    const summary = jsonSummary(counts, {
      run: 'r', dryRun: false, exitCode: 1, startedAt: Date.UTC(2026, 10, 30, 20), finishedAt: Date.UTC(2026, 10, 30, 20, 0, 3),
      ledger: '/l.jsonl', interrupted: false, imagesRead: 2, imageBytesRead: 1000, files: { report: '/failed.csv' },
    });
    expect(JSON.parse(JSON.stringify(summary))).toEqual({
      run: 'r', dryRun: false, exitCode: 1,
      startedAt: '2026-11-30T20:00:00.000Z', finishedAt: '2026-11-30T20:00:03.000Z', durationSeconds: 3, rows: 7, rowsPerSecond: 2.333,
      status: { ok: 2, skipped: 1, failed: 4, changedByUser: 1, removed: 0 },
      failures: { new: 2, carriedOver: 2, byCode: { file_not_found: 2, unsupported_image: 1, user_not_found: 1 } },
      targets: {
        'dir:/a': { status: { ok: 1, skipped: 1, failed: 2, changedByUser: 1, removed: 0 }, failures: { new: 1, carriedOver: 1, byCode: { file_not_found: 1, unsupported_image: 1 } } },
        'matrix:hs': { status: { ok: 1, skipped: 0, failed: 2, changedByUser: 0, removed: 0 }, failures: { new: 1, carriedOver: 1, byCode: { file_not_found: 1, user_not_found: 1 } } },
      },
      imagesRead: 2, imageBytesRead: 1000, ledger: '/l.jsonl', fatal: null, interrupted: false, files: { report: '/failed.csv' },
    });
  });
});
