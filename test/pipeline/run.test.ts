import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FatalError, RowError } from '../../src/errors.js';
import { settingsKey } from '../../src/image/normalise.js';
import type { NormaliseOptions } from '../../src/image/normalise.js';
import type { CsvRecord } from '../../src/input/csv.js';
import type { TableInput } from '../../src/input/table.js';
import { Ledger } from '../../src/ledger/ledger.js';
import type { RowLine } from '../../src/ledger/lines.js';
import { run, windowFor } from '../../src/pipeline/run.js';
import type { RunTarget } from '../../src/pipeline/run.js';
import type { Account, Applied, Avatar, Prior, Target, TargetFeatures, TargetLimits } from '../../src/targets/target.js';
import { tempDir } from '../support/cli.js';
import { photo } from '../support/photos.js';

// The pipeline against an in-memory target, so each rule of "what happens to a row" is visible.

class FakeTarget implements Target<undefined> {
  readonly name = 'fake';
  readonly id = 'fake:test';
  readonly features: TargetFeatures<undefined>;
  /** What each user has on the "server" now. */
  readonly current = new Map<string, string>();
  readonly applied: { user: string; avatar: Avatar }[] = [];
  readonly resolved: string[] = [];
  fatalOn?: string;
  inFlight = 0;
  maxInFlight = 0;
  gate?: Promise<void>;
  onApply?: () => void;

  constructor(guardsUserChanges = true) {
    this.features = { guardsUserChanges, bulkDiscovery: false, backupPrevious: false };
  }

  async open(): Promise<TargetLimits> {
    return {};
  }
  async close(): Promise<void> {}

  async resolve(user: string, _prior: Prior | undefined): Promise<Account<undefined>> {
    this.resolved.push(user);
    if (user === this.fatalOn) throw new FatalError('bad_token', 'the token was refused');
    if (user.startsWith('ghost')) throw new RowError('user_not_found', `${user} does not exist`);
    const current = this.current.get(user);
    return current === undefined ? { user, state: undefined } : { user, current, state: undefined };
  }

  async apply(account: Account<undefined>, avatar: Avatar): Promise<Applied> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.onApply?.();
    try {
      if (this.gate) await this.gate;
      const remote = `ref-${this.applied.length}`;
      this.applied.push({ user: account.user, avatar });
      this.current.set(account.user, remote);
      return { remote, ...(account.current ? { previous: account.current } : {}) };
    } finally {
      this.inFlight--;
    }
  }
}

const normalise: NormaliseOptions = { size: 128, minSize: 32, maxBytes: 1 << 20, quality: 80, crop: 'centre', background: 'white', allowSvg: false, maxPixels: 1e8 };

function csvOf(rows: [string, string][], onPull?: (row: number) => void): TableInput {
  async function* records(): AsyncGenerator<CsvRecord> {
    let row = 0;
    for (const [id, image] of rows) {
      row++;
      onPull?.(row);
      yield { row, line: row + 1, fields: { id, image } };
    }
  }
  return { headers: ['id', 'image'], records: records(), useColumns: () => undefined, bytesRead: () => 0 };
}

async function setup(photos: Record<string, number>) {
  const dir = await tempDir();
  await mkdir(join(dir, 'img'), { recursive: true });
  for (const [name, seed] of Object.entries(photos)) await writeFile(join(dir, 'img', name), await photo(seed, 160, 160));
  return dir;
}

/** The run's one destination, as execute() describes it. */
function lane(target: Target, ledger: Ledger, extra: Partial<RunTarget> = {}): RunTarget {
  return { target, ledger, userOf: (f) => f['id'] ?? '', normalise, settings: settingsKey(normalise), concurrency: 2, overwriteUserChanges: false, replaceExisting: false, halt: { ratio: 0, window: 50, minimum: 10 }, ...extra };
}

async function runOnce(dir: string, target: Target, rows: [string, string][], extra: Partial<RunTarget> = {}) {
  const ledger = await Ledger.open(join(dir, 'ledger.jsonl'), {});
  const lines: RowLine[] = [];
  try {
    const result = await run({
      runId: 'test', csv: csvOf(rows), imageOf: (f) => f['image'] ?? '',
      source: { imagesDir: join(dir, 'img'), allowHosts: [], timeoutMs: 1000, maxSourceBytes: 1 << 24 },
      targets: [lane(target, ledger, extra)],
      dryRun: false, force: false, retryFailed: false, checksum: false, requirePhoto: false,
      jobs: 2, signal: new AbortController().signal, redact: (t) => t,
      onRow: (line) => lines.push(line),
    });
    return { result, lines, byUser: Object.fromEntries(lines.map((l) => [l.user, l])) };
  } finally {
    await ledger.close();
  }
}

describe('pipeline', () => {
  test('a fatal error ends the run: no ledger line for it, no further rows taken', async () => {
    const dir = await setup({ 'a.jpg': 1 });
    const target = new FakeTarget();
    target.fatalOn = 'u3';
    const rows = Array.from({ length: 1000 }, (_, i): [string, string] => [`u${i}`, 'a.jpg']);

    const { result, lines } = await runOnce(dir, target, rows);

    expect(result.fatal.get(target.id)?.code).toBe('bad_token');
    expect(lines.find((l) => l.user === 'u3')).toBeUndefined();
    expect(lines.every((l) => l.status === 'ok')).toBe(true);
    // Stopped within one window of the failure, not after 1000 rows.
    expect(target.resolved.length).toBeLessThanOrEqual(windowFor(2, 2) + 4);
  });

  test('a user who set their own avatar is left alone unless --overwrite-user-changes', async () => {
    const dir = await setup({ 'a.jpg': 1 });
    const target = new FakeTarget();
    await runOnce(dir, target, [['ana', 'a.jpg']]);
    target.current.set('ana', 'chosen-by-ana');

    const second = await runOnce(dir, target, [['ana', 'a.jpg']]);
    expect(second.byUser['ana']).toMatchObject({ status: 'skipped', reason: 'changed_by_user' });
    expect(target.current.get('ana')).toBe('chosen-by-ana');

    const third = await runOnce(dir, target, [['ana', 'a.jpg']], { overwriteUserChanges: true });
    expect(third.byUser['ana']).toMatchObject({ status: 'ok', previous: 'chosen-by-ana' });
  });

  test('an unchanged row is skipped while the target still holds what the tool left', async () => {
    const dir = await setup({ 'a.jpg': 1 });
    const target = new FakeTarget();
    await runOnce(dir, target, [['ana', 'a.jpg']]);
    const second = await runOnce(dir, target, [['ana', 'a.jpg']]);
    expect(second.byUser['ana']?.status).toBe('skipped');
    expect(target.applied).toHaveLength(1);
  });

  test('identical source bytes are normalised once and the same avatar is sent for each user', async () => {
    const dir = await setup({ 'placeholder.jpg': 4, 'copy.jpg': 4 });
    const target = new FakeTarget();
    await runOnce(dir, target, [['a', 'placeholder.jpg'], ['b', 'placeholder.jpg'], ['c', 'copy.jpg']]);
    expect(target.applied).toHaveLength(3);
    expect(target.applied[1]!.avatar).toBe(target.applied[0]!.avatar);
    expect(target.applied[2]!.avatar).toBe(target.applied[0]!.avatar);
  });

  test('the first row of a user wins and later ones fail as duplicates, whatever finishes first', async () => {
    const dir = await setup({ 'a.jpg': 1, 'b.jpg': 2 });
    const target = new FakeTarget();
    const { lines } = await runOnce(dir, target, [['ana', 'a.jpg'], ['ben', 'b.jpg'], ['ana', 'b.jpg']]);
    expect(lines.find((l) => l.row === 3)?.error?.code).toBe('duplicate_user');
    expect(lines.find((l) => l.row === 1)?.status).toBe('ok');
  });

  test('a user the ledger already knows is still a duplicate the second time the CSV lists them', async () => {
    const dir = await setup({ 'a.jpg': 1, 'b.jpg': 2 });
    const target = new FakeTarget();
    await runOnce(dir, target, [['ana', 'a.jpg'], ['ben', 'b.jpg']]);
    const { lines } = await runOnce(dir, target, [['ana', 'a.jpg'], ['ben', 'b.jpg'], ['ana', 'b.jpg'], ['cy', 'a.jpg'], ['cy', 'b.jpg']]);
    expect(lines.map((l) => [l.row, l.status, l.error?.code])).toEqual(expect.arrayContaining([
      [1, 'skipped', undefined], [2, 'skipped', undefined], [3, 'failed', 'duplicate_user'], [4, 'ok', undefined], [5, 'failed', 'duplicate_user'],
    ]));
    expect(lines).toHaveLength(5);
  });

  test('a row error on the target fails that row only', async () => {
    const dir = await setup({ 'a.jpg': 1 });
    const target = new FakeTarget();
    const { byUser } = await runOnce(dir, target, [['ghost1', 'a.jpg'], ['ana', 'a.jpg']]);
    expect(byUser['ghost1']?.error).toMatchObject({ code: 'user_not_found', retryable: true });
    expect(byUser['ana']?.status).toBe('ok');
  });

  test('rows in flight stay within the window and calls to the target within --concurrency', async () => {
    const dir = await setup({ 'a.jpg': 1 });
    const target = new FakeTarget();
    // Uploads hang until three are stuck at once: meanwhile an unbounded pipeline would keep
    // pulling rows from the CSV.
    let release!: () => void;
    target.gate = new Promise((resolve) => (release = resolve));
    target.onApply = () => { if (target.inFlight === 3) release(); };
    let finished = 0;
    let worst = 0;
    const rows = Array.from({ length: 200 }, (_, i): [string, string] => [`u${i}`, 'a.jpg']);
    const ledger = await Ledger.open(join(dir, 'ledger.jsonl'), {});
    await run({
      runId: 't', imageOf: (f) => f['image'] ?? '',
      csv: csvOf(rows, (row) => (worst = Math.max(worst, row - 1 - finished))),
      source: { imagesDir: join(dir, 'img'), allowHosts: [], timeoutMs: 1000, maxSourceBytes: 1 << 24 },
      targets: [lane(target, ledger, { concurrency: 3 })],
      dryRun: false, force: false, retryFailed: false, checksum: false, requirePhoto: false,
      jobs: 2, signal: new AbortController().signal, redact: (t) => t,
      onRow: () => finished++,
    });
    await ledger.close();
    expect(finished).toBe(200);
    expect(worst).toBeLessThanOrEqual(windowFor(2, 3));
    expect(target.maxInFlight).toBe(3);
  });
});
