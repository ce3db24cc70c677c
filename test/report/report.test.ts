import { jest } from '@jest/globals';
import { formatDuration } from '../../src/report/format.js';
import { Progress } from '../../src/report/progress.js';
import { summarise } from '../../src/report/summary.js';
import { Tally } from '../../src/report/tally.js';
import type { RowLine } from '../../src/ledger/lines.js';

const line = (row: number, status: RowLine['status'], extra: Partial<RowLine> = {}): RowLine =>
  ({ type: 'row', ts: '', run: 'r', row, user: `u${row}`, target: 'dir:/x', source: '', settings: 's', status, ...extra }) as RowLine;

function tallyOf(lines: RowLine[]): Tally {
  const tally = new Tally();
  lines.forEach((l) => tally.add(l));
  return tally;
}

describe('summary', () => {
  test('counts, the top error codes with a sample row, and the ledger path', () => {
    const tally = tallyOf([
      line(1, 'ok'),
      line(2, 'skipped'),
      line(3, 'failed', { error: { code: 'file_not_found', message: 'gone' } }),
      line(4, 'failed', { error: { code: 'file_not_found', message: 'gone too' } }),
      line(5, 'failed', { error: { code: 'unsupported_image', message: 'bad' } }),
    ]);
    const text = summarise(tally, { ledgerPath: '/data/people.ledger.jsonl', dryRun: false, interrupted: false }, tally.started + 2000);
    expect(text).toMatch(/5 rows in 2s .*1 ok, 1 skipped, 3 failed/);
    expect(text).toMatch(/file_not_found\s+2\s+e\.g\. row 3 \(u3\)/);
    expect(text).toMatch(/unsupported_image\s+1\s+e\.g\. row 5/);
    expect(text.indexOf('file_not_found')).toBeLessThan(text.indexOf('unsupported_image'));
    expect(text).toContain('ledger: /data/people.ledger.jsonl');
  });

  test('an aborted run says why and that the next run goes on', () => {
    const text = summarise(new Tally(), { ledgerPath: '/l', dryRun: false, interrupted: false, fatal: { code: 'bad_token', message: 'token refused' } });
    expect(text).toMatch(/aborted: bad_token: token refused .*next run/);
  });

  test('users who changed their own avatar are counted apart', () => {
    const tally = tallyOf([line(1, 'skipped', { reason: 'changed_by_user' }), line(2, 'skipped')]);
    expect(summarise(tally, { ledgerPath: '/l', dryRun: false, interrupted: false })).toMatch(/2 skipped \(1 changed by the user\)/);
  });
});

describe('progress', () => {
  test('shows done/total, rate, ETA and the counts', () => {
    const tally = tallyOf([line(1, 'ok'), line(2, 'failed', { error: { code: 'x', message: 'y' } })]);
    const progress = new Progress({ stream: process.stderr, tally, total: () => 10, live: false });
    expect(progress.line(tally.started + 1000)).toBe('2/10  2.0 rows/s  ETA 4s  ok 1  skipped 0  failed 1 (x 1)');
  });

  test('the live line shows the current rate in rows/s and MB/s, and the failure codes seen so far', () => {
    const tally = new Tally();
    let bytes = 0;
    const progress = new Progress({ stream: process.stderr, tally, total: () => undefined, live: true, bytesRead: () => bytes });
    const t0 = tally.started;
    // A fast first 10 s: 100 rows, 50 MB read …
    for (let row = 1; row <= 100; row++) tally.add(line(row, 'ok'));
    bytes = 50e6;
    expect(progress.line(t0 + 10_000)).toBe('100  10.0 rows/s  5.0 MB/s  ok 100  skipped 0  failed 0');
    // … then a slow 10 s: 10 rows, 1 MB, all failing: the current rate shows the slow-down.
    const codes = ['file_not_found', 'file_not_found', 'file_not_found', 'unsupported_image', 'unsupported_image', 'user_not_found', 'image_too_small', 'x', 'y', 'z'];
    codes.forEach((code, i) => tally.add(line(101 + i, 'failed', { error: { code, message: '' } })));
    bytes += 1e6;
    expect(progress.line(t0 + 20_000)).toBe(
      '110  1.0 rows/s  0.1 MB/s  ok 100  skipped 0  failed 10 (file_not_found 3, unsupported_image 2, image_too_small 1, +4 more)',
    );
    expect(progress.snapshot(t0 + 20_000).codes).toEqual({ file_not_found: 3, unsupported_image: 2, image_too_small: 1, user_not_found: 1, x: 1, y: 1, z: 1 });
  });

  test('--progress-interval sets how often the plain line is written', () => {
    jest.useFakeTimers();
    try {
      const written: string[] = [];
      const stream = { isTTY: false, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream;
      const progress = new Progress({ stream, tally: new Tally(), total: () => undefined, plainEveryMs: 2_000 });
      progress.start();
      jest.advanceTimersByTime(6_000);
      progress.stop();
      expect(written).toHaveLength(3);
    } finally {
      jest.useRealTimers();
    }
  });

  test('durations read like a clock', () => {
    expect(formatDuration(59)).toBe('59s');
    expect(formatDuration(61)).toBe('1m01s');
    expect(formatDuration(3720)).toBe('1h02m');
  });
});

describe('progress off a terminal', () => {
  afterEach(() => jest.useRealTimers());

  test('writes one plain line every 10 s and nothing in between', () => {
    jest.useFakeTimers();
    const written: string[] = [];
    const stream = { isTTY: false, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream;
    const tally = tallyOf([line(1, 'ok')]);
    const progress = new Progress({ stream, tally, total: () => undefined });
    progress.start();

    jest.advanceTimersByTime(9_999);
    expect(written).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(written).toHaveLength(1);
    expect(written[0]).toMatch(/^progress: 1 .*ok 1 {2}skipped 0 {2}failed 0\n$/);
    jest.advanceTimersByTime(10_000);
    expect(written).toHaveLength(2);
    progress.stop();
    jest.advanceTimersByTime(30_000);
    expect(written).toHaveLength(2);
  });

  test('on a terminal redraws one line in place', () => {
    jest.useFakeTimers();
    const written: string[] = [];
    const stream = { isTTY: true, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream;
    const progress = new Progress({ stream, tally: new Tally(), total: () => 5 });
    progress.start();
    jest.advanceTimersByTime(1_000);
    expect(written.length).toBeGreaterThan(1);
    for (const text of written) expect(text).toMatch(/^\r\x1b\[K0\/5 /);
    progress.stop();
  });
});
