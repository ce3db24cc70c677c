import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { UsageError } from '../../../src/errors.js';
import { Ledger } from '../../../src/ledger/ledger.js';
import type { LedgerLine, RowLine } from '../../../src/ledger/lines.js';
import { readLines } from '../../../src/ledger/read.js';
import { compactLedger } from '../../../src/ledger/tools/compact.js';
import { failedRows, type FailedRow } from '../../../src/ledger/tools/failed.js';
import { mergeLedgers } from '../../../src/ledger/tools/merge.js';
import { listRuns } from '../../../src/ledger/tools/runs.js';
import { ledgerStatus } from '../../../src/ledger/tools/status.js';
import { TARGET, failedRow, jsonl, okRow, withTempDir } from '../support.js';
import { OTHER, end, history, run } from './fixture.js';

const USERS = ['ana', 'bo', 'cy', 'dee', 'ed', 'flo'];

/** What the import would be told about every user: the whole basis of its decisions. */
async function lookups(path: string, users: readonly string[], targets = [TARGET, OTHER]): Promise<unknown[]> {
  const ledger = await Ledger.open(path, { readOnly: true });
  try {
    const out: unknown[] = [];
    for (const target of targets) for (const user of users) out.push(await ledger.lookup(target, user));
    return out;
  } finally {
    await ledger.close();
  }
}

async function all(path: string): Promise<LedgerLine[]> {
  const lines: LedgerLine[] = [];
  for await (const line of readLines(path)) lines.push(line);
  return lines;
}

async function failing(path: string): Promise<FailedRow[]> {
  const rows: FailedRow[] = [];
  for await (const row of failedRows(path)) rows.push(row);
  return rows;
}

const day = (n: number): string => `2026-10-${String(n).padStart(2, '0')}T02:00:00.000Z`;

/**
 * 14 nights on six users: night 1 sets everyone, nights 2-14 mostly skip, a few change something
 * (cy's photo changes on night 3 and 12, ed fails from night 9 on, flo is set on night 13), a
 * failing row of the latest run names nobody. Night 14 was killed (no end line).
 */
function nights(): LedgerLine[] {
  const lines: LedgerLine[] = [];
  for (let n = 1; n <= 14; n++) {
    const id = `n${n}`;
    lines.push(run(id, day(n)));
    const counts: Record<string, number> = {};
    USERS.forEach((user, i) => {
      const base = { run: id, ts: day(n).replace('00.000Z', `${String(i + 1).padStart(2, '0')}.000Z`) };
      let line: RowLine;
      if (n === 1 || (user === 'cy' && (n === 3 || n === 12)) || (user === 'flo' && n === 13)) {
        line = okRow(user, i + 1, { ...base, outputSha256: `${user}-${n}`, remote: `${user}-${n}.jpg`, previous: `${user}-before-${n}` });
      } else if (user === 'flo' && n < 13) {
        line = failedRow(user, i + 1, { ...base, error: { code: 'file_not_found', message: 'not yet', retryable: true } });
      } else if (user === 'ed' && n >= 9) {
        line = failedRow(user, i + 1, { ...base, error: { code: 'user_not_found', message: 'gone', retryable: true } });
      } else {
        line = { ...okRow(user, i + 1, { ...base, outputSha256: `${user}-x`, remote: `${user}-x.jpg` }), status: 'skipped' };
      }
      lines.push(line);
      counts[line.status] = (counts[line.status] ?? 0) + 1;
    });
    if (n === 14) lines.push(failedRow('', 7, { run: id, ts: day(n), error: { code: 'missing_value', message: 'empty id' } }));
    else lines.push(end(id, counts.failed ? 1 : 0, counts));
  }
  return lines;
}

describe('ledger compact', () => {
  test('the next run is told exactly what it would have been told: same latest and held line for everyone', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      await writeFile(path, jsonl(...nights(), ...history()));
      const before = await lookups(path, [...USERS, '@ana:example.org', '@bo:example.org']);
      const result = await compactLedger(path, { keepRuns: 10 });
      expect(await lookups(path, [...USERS, '@ana:example.org', '@bo:example.org'])).toEqual(before);
      expect(result.after.bytes).toBeLessThan(result.before.bytes / 2);
      expect(result.after.lines).toBeLessThan(result.before.lines / 2);
    }));

  test('status and failed say the same after it', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      await writeFile(path, jsonl(...nights(), ...history()));
      const status = await ledgerStatus(path);
      const failed = await failing(path);
      await compactLedger(path);
      expect(await ledgerStatus(path)).toEqual({ ...status, bytes: expect.any(Number) });
      expect(await failing(path)).toEqual(failed);
    }));

  test('what rollback of the last N runs needs stays: every line of theirs that changed an avatar', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      await writeFile(path, jsonl(...nights()));
      await compactLedger(path, { keepRuns: 10 });
      const rows = (await all(path)).filter((l): l is RowLine => l.type === 'row');
      const changes = rows.filter((l) => l.status === 'ok').map((l) => `${l.run}:${l.user}`);
      // Runs n5-n14 are the last ten: cy on n12 and flo on n13. Night 1 is older: only the lines
      // still current survive (none of them: everyone was skipped or changed since).
      expect(changes).toEqual(['n12:cy', 'n13:flo']);
      expect(rows.find((l) => l.run === 'n12' && l.user === 'cy')!.previous).toBe('cy-before-12');
      // With --keep-runs 0, only what is current.
      await compactLedger(path, { keepRuns: 0 });
      expect((await all(path)).filter((l) => l.type === 'row' && l.status === 'ok')).toEqual([]);
    }));

  test('every run stays listed with its counts; a run without an end line gets one saying compaction wrote it', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      await writeFile(path, jsonl(...nights()));
      const runs = await listRuns(path);
      await compactLedger(path, { keepRuns: 2 });
      const after = await listRuns(path);
      expect(after.map((r) => [r.run, r.counts, r.exit])).toEqual(runs.map((r) => [r.run, r.counts, r.exit]));
      const ends = (await all(path)).filter((l) => l.type === 'end' && l.run === 'n14');
      expect(ends).toEqual([{ type: 'end', run: 'n14', counts: { skipped: 5, failed: 2 }, compacted: true }]);
      // Compacting again changes nothing more.
      const once = await readFile(path, 'utf8');
      await compactLedger(path, { keepRuns: 2 });
      const twice = await readFile(path, 'utf8');
      const withoutMarker = (text: string): string => text.split('\n').filter((l) => !l.includes('"type":"compacted"')).join('\n');
      expect(withoutMarker(twice)).toBe(withoutMarker(once));
    }));

  test('is refused while a run holds the ledger, and leaves no temporary file behind', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      await writeFile(path, jsonl(...nights()));
      const original = await readFile(path, 'utf8');
      const live = await Ledger.open(path);
      try {
        await expect(compactLedger(path)).rejects.toThrow(UsageError);
        await expect(compactLedger(path)).rejects.toThrow(/in use by process/);
      } finally {
        await live.close();
      }
      expect(await readFile(path, 'utf8')).toBe(original);
      await compactLedger(path);
      expect((await readdir(dir)).sort()).toEqual(['l.jsonl']);
    }));

  test("lines of a type a newer version added are kept as they are; torn lines are not", () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      const future = '{"type":"intent","run":"n14","user":"ana","remote":"ana-next.jpg"}';
      await writeFile(path, jsonl(...nights()) + future + '\n{"type":"row","ts":"2026-\n');
      await compactLedger(path, { keepRuns: 1 });
      const text = await readFile(path, 'utf8');
      expect(text.split('\n')).toContain(future);
      expect(text).not.toContain('"ts":"2026-\n');
    }));

  test('a temp file left by a compaction that was killed is removed by the next one', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      await writeFile(path, jsonl(...nights()));
      await writeFile(join(dir, '.l.jsonl.999999-0123abcd.tmp'), '{"type":"row"');
      await writeFile(join(dir, 'other.jsonl'), '');
      await compactLedger(path);
      expect((await readdir(dir)).sort()).toEqual(['l.jsonl', 'other.jsonl']);
    }));

  test('--keep-runs is checked', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      await writeFile(path, '');
      await expect(compactLedger(path, { keepRuns: -1 })).rejects.toThrow('--keep-runs expects a whole number of runs from 0, got "-1"');
    }));
});

describe('ledger merge', () => {
  /** Two shards of one job, running at the same time: their lines interleave in time. */
  function shard(k: number, users: readonly string[]): LedgerLine[] {
    const id = `s${k}`;
    return [
      run(id, `2026-11-10T02:00:0${k}.000Z`),
      ...users.map((user, i) => okRow(user, i * 2 + k, { run: id, ts: `2026-11-10T02:00:${String(10 + i * 2 + k).padStart(2, '0')}.000Z`, outputSha256: `${user}-out`, remote: `${user}.jpg` })),
      end(id, 0, { ok: users.length }),
    ];
  }

  test('the merged ledger holds every line once, in time order, and answers for every user of every shard', () =>
    withTempDir(async (dir) => {
      const [a, b, out] = ['a.jsonl', 'b.jsonl', 'merged.jsonl'].map((f) => join(dir, f));
      await writeFile(a!, jsonl(...shard(1, ['ana', 'cy', 'ed'])));
      await writeFile(b!, jsonl(...shard(2, ['bo', 'dee', 'flo'])));
      const result = await mergeLedgers(out!, [a!, b!]);
      expect(result.lines).toBe(10);
      const lines = await all(out!);
      expect(lines.filter((l) => l.type === 'row').map((l) => (l as RowLine).user)).toEqual(['ana', 'bo', 'cy', 'dee', 'ed', 'flo']);
      expect((await listRuns(out!)).map((r) => [r.run, r.counts])).toEqual([['s2', { ok: 3 }], ['s1', { ok: 3 }]]);
      for (const found of await lookups(out!, USERS, [TARGET])) expect(found).toMatchObject({ latest: { status: 'ok' }, held: { status: 'ok' } });
    }));

  test('the latest outcome wins across ledgers of different machines', () =>
    withTempDir(async (dir) => {
      const [a, b, out] = ['a.jsonl', 'b.jsonl', 'merged.jsonl'].map((f) => join(dir, f));
      const later = failedRow('ana', 1, { run: 'x2', ts: '2026-11-11T00:00:00.000Z' });
      await writeFile(a!, jsonl(run('x2', '2026-11-11T00:00:00.000Z'), later));
      await writeFile(b!, jsonl(...shard(1, ['ana'])));
      await mergeLedgers(out!, [a!, b!]);
      expect((await lookups(out!, ['ana'], [TARGET]))[0]).toMatchObject({ latest: later, held: { run: 's1' } });
    }));

  test('merging again the next night adds only the new runs: OUT is an input, and a run is taken once', () =>
    withTempDir(async (dir) => {
      const [a, b, out] = ['a.jsonl', 'b.jsonl', 'merged.jsonl'].map((f) => join(dir, f));
      await writeFile(a!, jsonl(...shard(1, ['ana'])));
      await writeFile(b!, jsonl(...shard(2, ['bo'])));
      await mergeLedgers(out!, [a!, b!]);
      const first = await all(out!);
      // Night 2: each shard appends a run; a fix-up run wrote to OUT itself meanwhile.
      const night2 = (k: number, user: string): LedgerLine[] => [run(`t${k}`, `2026-11-11T02:00:0${k}.000Z`), okRow(user, k, { run: `t${k}`, ts: `2026-11-11T02:00:1${k}.000Z` })];
      await writeFile(a!, jsonl(...shard(1, ['ana']), ...night2(1, 'ana')));
      await writeFile(b!, jsonl(...shard(2, ['bo']), ...night2(2, 'bo')));
      await writeFile(out!, jsonl(...first, run('fix', '2026-11-10T12:00:00.000Z'), okRow('cy', 3, { run: 'fix', ts: '2026-11-10T12:00:01.000Z' })));
      const result = await mergeLedgers(out!, [a!, b!]);
      expect((await listRuns(out!)).map((r) => r.run)).toEqual(['t2', 't1', 'fix', 's2', 's1']);
      expect(result.lines).toBe(first.length + 2 + 4);
      expect(result.inputs.map((i) => i.duplicates)).toEqual([0, 3, 3]);
    }));

  test('lines are copied byte for byte, a newer version\'s line types included; torn lines are left out', () =>
    withTempDir(async (dir) => {
      const [a, out] = ['a.jsonl', 'merged.jsonl'].map((f) => join(dir, f));
      const future = '{"type":"intent","run":"s1","ts":"2026-11-10T02:00:11.500Z","user":"ana","note":"caf\\u00e9"}';
      await writeFile(a!, jsonl(...shard(1, ['ana', 'cy'])).replace('\n', `\n${future}\n`) + '{"type":"row","ts":"2026-');
      await mergeLedgers(out!, [a!]);
      const lines = (await readFile(out!, 'utf8')).trimEnd().split('\n');
      expect(lines[1]).toBe(future);
      expect(lines).toHaveLength(5);
    }));

  test('a shard still running is refused, not merged half done', () =>
    withTempDir(async (dir) => {
      const [a, out] = ['a.jsonl', 'merged.jsonl'].map((f) => join(dir, f));
      await writeFile(a!, jsonl(...shard(1, ['ana'])));
      const live = await Ledger.open(a!);
      try {
        await expect(mergeLedgers(out!, [a!])).rejects.toThrow(/in use by process/);
      } finally {
        await live.close();
      }
      expect((await readdir(dir)).sort()).toEqual(['a.jsonl']);
      await expect(mergeLedgers(out!, [join(dir, 'missing.jsonl')])).rejects.toThrow(/missing\.jsonl does not exist/);
    }));
});
