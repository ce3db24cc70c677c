import { copyFile, readdir, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

import { lastRun, readLedger, runCli, tempDir, type LedgerRow } from '../support/cli.js';
import { writePeople, type Person } from '../support/photos.js';

// `avatar-import ledger …` as an admin uses it, on ledgers real imports wrote.

const FINE: Person[] = [0, 1, 2, 3].map((i) => ({ id: `user${i}`, image: `photos/p${i}.jpg`, seed: i }));
const PEOPLE: Person[] = [
  ...FINE,
  { id: '=1+2', image: 'photos/formula.jpg' }, // row 5: no photo, and an id a spreadsheet would evaluate
  { id: 'user5', image: 'photos/broken.jpg', bytes: Buffer.from('not an image at all') }, // row 6
  { id: 'user1', image: 'photos/p1.jpg', seed: 1 }, // row 7: a duplicate
  { id: '', image: 'photos/p0.jpg', seed: 0 }, // row 8: no id
];

/** What a run decided, row by row: the thing compaction must not change. */
const decisions = (rows: LedgerRow[]): string[] =>
  rows.map((l) => `${l.row} ${l.user} ${l.status} ${l.reason ?? ''} ${l.error?.code ?? ''}`).sort();

async function imported(people = PEOPLE): Promise<{ dir: string; csv: string; ledger: string; args: string[] }> {
  const dir = await tempDir();
  const csv = await writePeople(dir, people);
  const ledger = join(dir, 'people.ledger.jsonl');
  const args = [csv, '--out', join(dir, 'avatars'), '--ledger', ledger, '--progress', 'off'];
  return { dir, csv, ledger, args };
}

describe('avatar-import ledger', () => {
  let dir: string;
  let ledger: string;
  let args: string[];

  beforeAll(async () => {
    ({ dir, ledger, args } = await imported());
    expect((await runCli(args)).code).toBe(1);
    expect((await runCli(args)).code).toBe(4); // the nightly re-run: skips, every failure carried over
  });

  test('runs: newest first, with counts and the exit code of each', async () => {
    const result = await runCli(['ledger', 'runs', '--ledger', ledger]);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/skipped 4, failed 4\s+exit 4$/); // the same failures as the night before
    expect(lines[2]).toMatch(/ok 4, failed 4\s+exit 1$/);
  });

  test('status: users by outcome, failures by code with an example and a hint, the last runs', async () => {
    const result = await runCli(['ledger', 'status', '--ledger', ledger]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('users: 6  ok 4  failed 2');
    expect(result.stdout).toContain('rows of the latest run with no usable user (empty id, malformed, duplicate): 2');
    expect(result.stdout).toMatch(/file_not_found 1 {2}e\.g\. row 5 =1\+2: .*\n {6}→ the photo file is missing: add .*formula\.jpg or fix the path/);
    expect(result.stdout).toMatch(/unsupported_image 1 {2}e\.g\. row 6 user5/);
    expect(result.stdout).toMatch(/duplicate_user 1 {2}e\.g\. row 7 user1/);
    expect(result.stdout).toMatch(/missing_value 1 {2}e\.g\. row 8:/);
    expect(result.stdout.match(/exit [14]/g)).toEqual(['exit 4', 'exit 1']); // newest first
  });

  test('failed --format csv: the rows to fix in CSV order, safe to open in a spreadsheet', async () => {
    const result = await runCli(['ledger', 'failed', '--ledger', ledger, '--format', 'csv']);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toBe('row,line,user,target,code,message,hint,retried');
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 3).join(','))).toEqual(["5,6,'=1+2", '6,7,user5', '7,8,user1', '8,9,']);
    expect(lines[1]).toContain(',file_not_found,');
    expect(lines[1]).toMatch(/,yes$/); // a missing file is tried again by itself
    expect(lines[2]).toContain(',unsupported_image,');
  });

  test('failed --format json and show USER', async () => {
    const json = await runCli(['ledger', 'failed', '--ledger', ledger, '--format', 'json']);
    expect((JSON.parse(json.stdout) as { code: string }[]).map((r) => r.code)).toEqual(['file_not_found', 'unsupported_image', 'duplicate_user', 'missing_value']);
    const show = await runCli(['ledger', 'show', 'USER1', '--ledger', ledger]);
    expect(show.code).toBe(0);
    const lines = show.stdout.split('\n').filter((l) => /^\d{4}-/.test(l));
    expect(lines).toHaveLength(4);
    expect(lines.filter((l) => / ok$/.test(l))).toHaveLength(1);
    expect(lines.filter((l) => /skipped \(unchanged\)$/.test(l))).toHaveLength(1);
    expect(lines.filter((l) => /failed duplicate_user/.test(l))).toHaveLength(2);
  });

  test('compact: the next run decides exactly what it would have decided without it', async () => {
    const copy = join(dir, 'uncompacted.jsonl');
    await copyFile(ledger, copy);
    const before = (await stat(ledger)).size;
    const compacted = await runCli(['ledger', 'compact', '--ledger', ledger, '--keep-runs', '1']);
    expect(compacted.code).toBe(0);
    expect(compacted.stdout).toMatch(/^compacted .*people\.ledger\.jsonl: \d+ lines/);
    expect((await stat(ledger)).size).toBeLessThan(before);

    const withCopy = await runCli(args.map((a) => (a === ledger ? copy : a)));
    const withCompacted = await runCli(args);
    expect(withCompacted.code).toBe(withCopy.code);
    const expected = decisions(lastRun(await readLedger(copy)));
    expect(decisions(lastRun(await readLedger(ledger)))).toEqual(expected);
    expect(expected.filter((d) => / skipped {2}$/.test(d))).toHaveLength(4); // the four done users, skipped again
    expect((await runCli(['ledger', 'runs', '--ledger', ledger])).stdout.trim().split('\n')).toHaveLength(4);
  });

  test('compact is refused while a run holds the ledger', async () => {
    const lock = `${ledger}.lock`;
    await writeFile(lock, JSON.stringify({ pid: process.pid, host: hostname(), started: new Date().toISOString() }));
    const result = await runCli(['ledger', 'compact', '--ledger', ledger]);
    const { rm } = await import('node:fs/promises');
    await rm(lock);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`in use by process ${process.pid}`);
  });

  test('usage errors exit 2 and say what was expected', async () => {
    const cases: [string[], RegExp][] = [
      [['ledger'], /give a command: status, failed, show, runs, compact, merge/],
      [['ledger', 'status'], /which ledger\? give --ledger FILE/],
      [['ledger', 'failed', '--ledger', ledger, '--format', 'xlsx'], /--format expects one of table, csv, json, got "xlsx"/],
      [['ledger', 'status', '--ledger', join(dir, 'nope.jsonl')], /nope\.jsonl does not exist/],
      [['ledger', 'compact', '--ledger', ledger, '--keep-runs', '-2'], /--keep-runs expects a whole number/],
      [['ledger', 'frobnicate', '--ledger', ledger], /Unknown argument|unknown ledger command/],
    ];
    for (const [argv, message] of cases) {
      const result = await runCli(argv);
      expect({ argv, code: result.code }).toEqual({ argv, code: 2 });
      expect(result.stderr).toMatch(message);
    }
  });

  test('--config F reads the ledger an import with that config uses', async () => {
    const named = join(dir, 'named.yaml');
    await writeFile(named, 'ledger: people.ledger.jsonl\n');
    const beside = join(dir, 'beside.yaml');
    await writeFile(beside, 'csv: people.csv\nout: avatars\n'); // a first-wave ledger beside the CSV, still used
    for (const config of [named, beside]) {
      const result = await runCli(['ledger', 'runs', '--config', config]);
      expect({ config, code: result.code, stderr: result.stderr }).toEqual({ config, code: 0, stderr: '' });
      expect(result.stdout.trim().split('\n').length).toBeGreaterThan(2);
    }
    const wrong = join(dir, 'wrong.yaml');
    await writeFile(wrong, 'ledgr: people.ledger.jsonl\n');
    const refused = await runCli(['ledger', 'runs', '--config', wrong]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/ledgr/);
  });

  test('--config F without a ledger: the one the import used by default, where its target keeps state', async () => {
    const fresh = await tempDir();
    await writePeople(fresh, FINE);
    const config = join(fresh, 'nightly.yaml');
    await writeFile(config, 'csv: people.csv\ntargets:\n  - type: dir\n    out: intranet\nprogress: "off"\n');
    expect((await runCli(['--config', config])).code).toBe(0);

    const result = await runCli(['ledger', 'status', '--config', config]);

    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(`ledger ${join(fresh, 'intranet', '.avatar-import', 'ledger.jsonl')}`);
    expect(result.stdout).toMatch(/users: 4 {2}ok 4/);
    // A server's ledger is named after the server: a target that cannot be set up says so.
    await writeFile(config, 'csv: people.csv\ntargets:\n  - type: matrix\n    homeserver: https://hs.example\n    token-file: missing.token\n');
    const unknown = await runCli(['ledger', 'status', '--config', config]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/where the matrix target's ledger is depends on the target.*missing\.token.*give --ledger FILE/);
  });
});

describe('avatar-import ledger merge', () => {
  test('ledgers of two machines merged: a later run over everyone skips every done row', async () => {
    const { dir, args } = await imported(FINE);
    const out = join(dir, 'avatars');
    const [a, b, merged] = ['a.jsonl', 'b.jsonl', 'merged.jsonl'].map((f) => join(dir, f));
    // Each machine imports half of the people into the shared folder, with its own ledger.
    const halves = [FINE.slice(0, 2), FINE.slice(2)];
    for (const [i, half] of halves.entries()) {
      const csv = join(dir, `half${i}.csv`);
      await writeFile(csv, ['user_id,name,photo', ...half.map((p) => `${p.id},x,${p.image}`)].join('\n') + '\n');
      const result = await runCli([csv, '--images-dir', dir, '--out', out, '--ledger', i === 0 ? a! : b!, '--progress', 'off']);
      expect(result.code).toBe(0);
    }
    const result = await runCli(['ledger', 'merge', merged!, a!, b!]);
    expect(result.code).toBe(0);
    // Per machine: a run line, an intent and a row line per person, an end line.
    expect(result.stdout).toMatch(/^merged 2 ledgers into .*merged\.jsonl: 12 lines/);
    expect((await runCli(['ledger', 'runs', '--ledger', merged!])).stdout.trim().split('\n')).toHaveLength(3);

    const written = await Promise.all(FINE.map(async (p) => (await stat(join(out, `${p.id}.jpg`))).mtimeMs));
    const full = await runCli(args.map((x) => (x.endsWith('people.ledger.jsonl') ? merged! : x)));
    expect(full.code).toBe(0);
    expect(lastRun(await readLedger(merged!)).map((l) => l.status)).toEqual(['skipped', 'skipped', 'skipped', 'skipped']);
    expect(await Promise.all(FINE.map(async (p) => (await stat(join(out, `${p.id}.jpg`))).mtimeMs))).toEqual(written);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp') || f.endsWith('.lock'))).toEqual([]);
  });
});
