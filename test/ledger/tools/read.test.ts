import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { UsageError } from '../../../src/errors.js';
import { failedRows, writeFailed, parseFailedFormat, type FailedRow } from '../../../src/ledger/tools/failed.js';
import { hintFor } from '../../../src/report/failed/hints.js';
import { formatRuns, listRuns } from '../../../src/ledger/tools/runs.js';
import { formatHistory, userHistory } from '../../../src/ledger/tools/show.js';
import { formatStatus, ledgerStatus } from '../../../src/ledger/tools/status.js';
import { TARGET, jsonl, withTempDir } from '../support.js';
import { OTHER, history } from './fixture.js';

async function withHistory(body: (path: string) => Promise<void>, extra = ''): Promise<void> {
  await withTempDir(async (dir) => {
    const path = join(dir, 'people.ledger.jsonl');
    // A torn last line, as a kill leaves it: ignored like the import ignores it.
    await writeFile(path, jsonl(...history()) + extra + '{"type":"row","run":"r3","us');
    await body(path);
  });
}

async function collect(rows: AsyncIterable<FailedRow>): Promise<FailedRow[]> {
  const out: FailedRow[] = [];
  for await (const row of rows) out.push(row);
  return out;
}

async function render(format: 'csv' | 'json' | 'table', path: string): Promise<string> {
  let text = '';
  await writeFailed(failedRows(path), format, (chunk) => void (text += chunk));
  return text;
}

describe('ledger status', () => {
  test('counts each user once, by their latest outcome, per target', () =>
    withHistory(async (path) => {
      const report = await ledgerStatus(path);
      expect(report.targets.map((t) => t.target)).toEqual([TARGET, OTHER].sort());
      const dir = report.targets.find((t) => t.target === TARGET)!;
      // ana: skipped unchanged = in place (her duplicate row says nothing about her); cy healed.
      expect(dir.ok).toBe(2);
      // bo (unsupported_image) and the user whose id looks like a formula (user_not_found).
      expect(dir.failed).toBe(2);
      expect(dir.skipped).toEqual({ changed_by_user: 1 });
      // The duplicate and the malformed record of r2; r1's empty id cell is history.
      expect(dir.rowProblems).toBe(2);
    }));

  test('failures are grouped by code with a sample and a hint', () =>
    withHistory(async (path) => {
      const dir = (await ledgerStatus(path)).targets.find((t) => t.target === TARGET)!;
      expect(dir.failures.map((f) => [f.code, f.count, f.sample.row])).toEqual([
        ['duplicate_user', 1, 7], ['malformed_record', 1, 8], ['unsupported_image', 1, 2], ['user_not_found', 1, 6],
      ]);
      expect(dir.failures.find((f) => f.code === 'unsupported_image')).toMatchObject({ sample: { user: 'bo', message: 'not an image' }, hint: hintFor('unsupported_image', 'photos/2.jpg') });
    }));

  test('each target lists its own last runs, newest first, with counts and how they ended', () =>
    withHistory(async (path) => {
      const report = await ledgerStatus(path, { runs: 5 });
      const dir = report.targets.find((t) => t.target === TARGET)!;
      expect(dir.runs.map((r) => [r.run, r.exit, r.unfinished])).toEqual([['r2', undefined, true], ['r1', 1, false]]);
      expect(dir.runs[0]!.counts).toEqual({ skipped: 2, failed: 4, ok: 1 });
      expect(report.targets.find((t) => t.target === OTHER)!.runs.map((r) => r.run)).toEqual(['m1']);
      const text = formatStatus(report);
      expect(text).toContain('users: 5  ok 2  failed 2  skipped (changed_by_user) 1');
      expect(text).toContain('unsupported_image 1  e.g. row 2 bo: not an image');
      expect(text).toContain('r2  2026-11-02T02:00:00.000Z  ok 1, skipped 2, failed 4  no end recorded');
      expect(text).toContain('r1  2026-11-01T02:00:00.000Z  ok 3, failed 2  exit 1');
    }));

  test('a missing ledger is a usage error naming it', async () => {
    await expect(ledgerStatus('/nonexistent/people.ledger.jsonl')).rejects.toThrow(UsageError);
    await expect(ledgerStatus('/nonexistent/people.ledger.jsonl')).rejects.toThrow('ledger /nonexistent/people.ledger.jsonl does not exist');
  });
});

describe('ledger failed', () => {
  test('lists who fails now, in CSV row order, with the code, message and what to fix', () =>
    withHistory(async (path) => {
      const rows = await collect(failedRows(path));
      expect(rows.map((r) => [r.row, r.user, r.target, r.code])).toEqual([
        [2, 'bo', TARGET, 'unsupported_image'],
        [2, '@bo:example.org', OTHER, 'user_not_found'],
        [6, '=HYPERLINK("http://x")', TARGET, 'user_not_found'],
        [7, 'ana', TARGET, 'duplicate_user'],
        [8, '', TARGET, 'malformed_record'],
      ]);
      expect(rows[0]).toMatchObject({ message: 'not an image', hint: hintFor('unsupported_image', 'photos/2.jpg'), retried: false, run: 'r2' });
      expect(rows[1]).toMatchObject({ retried: true });
    }));

  test('CSV output is safe to open in a spreadsheet', () =>
    withHistory(async (path) => {
      const lines = (await render('csv', path)).trimEnd().split('\n');
      expect(lines[0]).toBe('row,line,user,target,code,message,hint,retried');
      expect(lines).toHaveLength(6);
      // The user cell would be a formula; the message starts with '-' and has quotes and a comma.
      expect(lines[3]).toContain(`,"'=HYPERLINK(""http://x"")",${TARGET},user_not_found,"'-no such user, ""really""",`);
    }));

  test('JSON output is one array, and the table says what to do under each row', () =>
    withHistory(async (path) => {
      const parsed = JSON.parse(await render('json', path)) as FailedRow[];
      expect(parsed.map((r) => r.row)).toEqual([2, 2, 6, 7, 8]);
      const table = await render('table', path);
      expect(table).toContain(`2       bo / ${TARGET}: unsupported_image: not an image\n        → ${hintFor('unsupported_image', 'photos/2.jpg')}\n`);
      expect(table).toContain('8       (no user) / ');
    }));

  test('nothing failing says so, and an empty JSON array is still JSON', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      await writeFile(path, '');
      expect(await render('table', path)).toBe('no failing rows\n');
      expect(JSON.parse(await render('json', path))).toEqual([]);
    }));

  test('--format is checked', () => {
    expect(parseFailedFormat('csv')).toBe('csv');
    expect(() => parseFailedFormat('xlsx')).toThrow('--format expects one of table, csv, json, got "xlsx"');
  });
});

describe('ledger show', () => {
  test("one user's history across runs and targets, matched ignoring case", () =>
    withHistory(async (path) => {
      const lines = await userHistory(path, 'BO');
      expect(lines.map((l) => [l.run, l.status, l.target])).toEqual([['r1', 'ok', TARGET], ['r2', 'failed', TARGET]]);
      const text = formatHistory('BO', lines);
      expect(text).toContain('run r1  dir:/srv/avatars  row 2 as bo  ok');
      expect(text).toContain('failed unsupported_image: not an image');
      expect(formatHistory('zed', await userHistory(path, 'zed'))).toBe('no rows for zed in this ledger\n');
    }));
});

describe('ledger runs', () => {
  test('a run of several targets is listed under each, even before it wrote a row', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      const several = { type: 'run', run: 'multi', version: '0.1.0', started: '2026-11-05T02:00:00.000Z', options: { targets: [{ target: TARGET }, { target: OTHER }] } };
      await writeFile(path, jsonl(several));
      expect((await listRuns(path))[0]).toMatchObject({ run: 'multi', targets: [OTHER, TARGET].sort(), unfinished: true });
    }));


  test('newest first, with targets, counts and exit codes', () =>
    withHistory(async (path) => {
      const runs = await listRuns(path);
      expect(runs.map((r) => r.run)).toEqual(['m1', 'r2', 'r1']);
      expect(runs[0]).toMatchObject({ targets: [OTHER], counts: { ok: 1, failed: 1 }, exit: 0 + 1, csv: '/srv/hr/people.csv' });
      const text = formatRuns(runs);
      expect(text.split('\n')[0]).toMatch(/^run\s+started\s+target\s+rows\s+end$/);
      expect(text).toContain('no end recorded');
    }));
});
