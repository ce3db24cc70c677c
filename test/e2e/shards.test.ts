import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FakeSynapse } from '../../testkit/servers/synapse.js';
import { BIN, readLedger, rowLines, runCli, tempDir } from '../support/cli.js';
import { writePeople } from '../support/photos.js';

// --shard through the CLI: GNU parallel runs four shards at once against one server, as an admin
// would on one big machine; every user is set exactly once, and the merged ledger carries on.

const execFileAsync = promisify(execFile);
const USERS = Array.from({ length: 40 }, (_, i) => `user${String(i).padStart(2, '0')}`);

let synapse: FakeSynapse;
afterEach(async () => synapse?.close());

async function setUp(): Promise<{ dir: string; csv: string }> {
  synapse = await FakeSynapse.start();
  for (const name of USERS) synapse.addUser(name);
  const dir = await tempDir();
  const csv = await writePeople(dir, USERS.map((id, i) => ({ id, image: `photos/${id}.jpg`, seed: i + 1 })), 'username,name,photo');
  return { dir, csv };
}

const targetArgs = (csv: string, ledger: string): string[] => [
  csv, '--target', 'matrix', '--homeserver', synapse.url, '--user-template', '@{username}:example.org', '--ledger', ledger, '--progress', 'off',
];

/** How many times each user's avatar was set on the server. */
function setsPerUser(): Map<string, number> {
  const sets = new Map<string, number>();
  for (const request of synapse.server.requests) {
    if (request.route !== 'profile_put') continue;
    const user = decodeURIComponent(/\/profile\/([^/]+)\/avatar_url/.exec(request.path)![1]!);
    sets.set(user, (sets.get(user) ?? 0) + 1);
  }
  return sets;
}

(existsSync('/usr/bin/parallel') ? describe : describe.skip)('--shard with GNU parallel', () => {
  test('four shards at once set every user exactly once, each shard in its own ledger', async () => {
    const { dir, csv } = await setUp();
    const ledger = join(dir, 'job.jsonl');

    await execFileAsync('parallel', ['--will-cite', '-j', '4', process.execPath, BIN, ...targetArgs(csv, ledger), '--shard', '{}/4', ':::', '1', '2', '3', '4'], {
      env: { ...process.env, NODE_OPTIONS: '', MATRIX_ACCESS_TOKEN: synapse.adminToken },
    });

    const sets = setsPerUser();
    expect([...sets.keys()].sort()).toEqual(USERS.map((u) => `@${u}:example.org`));
    expect([...sets.values()].every((n) => n === 1)).toBe(true);
    const byShard = await Promise.all([1, 2, 3, 4].map(async (k) => rowLines(await readLedger(join(dir, `job.shard-${k}-of-4.jsonl`)))));
    const rows = byShard.flat();
    // Every row exactly once across the shards, all ok; no shard is empty or takes everything.
    expect(rows.map((line) => line.row).sort((a, b) => a! - b!)).toEqual(USERS.map((_, i) => i + 1));
    expect(rows.every((line) => line.status === 'ok')).toBe(true);
    for (const lines of byShard) expect(lines.length).toBeGreaterThan(0);
    expect(existsSync(ledger)).toBe(false);

    // Merged, the shards' history serves an unsharded run: everything is skipped, nothing sent.
    const merged = join(dir, 'merged.jsonl');
    const merge = await runCli(['ledger', 'merge', merged, ...[1, 2, 3, 4].map((k) => join(dir, `job.shard-${k}-of-4.jsonl`))]);
    expect(merge.code).toBe(0);
    const puts = synapse.server.count('profile_put');
    const whole = await runCli(targetArgs(csv, merged), { env: { MATRIX_ACCESS_TOKEN: synapse.adminToken } });
    expect(whole.code).toBe(0);
    expect(whole.stdout).toContain('images read: 0 (0 B)');
    expect(synapse.server.count('profile_put')).toBe(puts);
  });
});

describe('--shard', () => {
  test('auto takes the shard from a Kubernetes Indexed Job and splits as K/N does; other shards\' rows are not read', async () => {
    const { dir, csv } = await setUp();
    const env = { MATRIX_ACCESS_TOKEN: synapse.adminToken, JOB_COMPLETION_INDEX: '2', JOB_COMPLETIONS: '4' };
    // The explicit split first, as a dry run: once the auto run has set avatars, another ledger
    // would see them as avatars it never set (has_own_avatar) and list them as kept.
    const explicit = await runCli([...targetArgs(csv, join(dir, 'k.jsonl')), '--shard', '3/4', '--dry-run'], { env: { MATRIX_ACCESS_TOKEN: synapse.adminToken } });
    expect(explicit.code).toBe(0);
    const auto = await runCli([...targetArgs(csv, join(dir, 'auto.jsonl')), '--shard', 'auto'], { env });
    expect(auto.code).toBe(0);
    const autoRows = rowLines(await readLedger(join(dir, 'auto.shard-3-of-4.jsonl')));
    expect(autoRows.length).toBeGreaterThan(0);
    expect(autoRows.length).toBeLessThan(USERS.length);
    const wouldWrite = explicit.stdout.split('\n').filter((line) => /would write/.test(line)).map((line) => /(@user\d+:example\.org)/.exec(line)![1]);
    expect(wouldWrite.sort()).toEqual(autoRows.map((line) => line.user).sort());
    // One image per row of this shard: the other shards' photos were never opened.
    expect(auto.stdout).toContain(`images read: ${autoRows.length} `);
  });

  test('the same user listed twice lands twice in one shard, so the duplicate is still caught', async () => {
    synapse = await FakeSynapse.start();
    for (const name of USERS) synapse.addUser(name);
    const dir = await tempDir();
    const people = [...USERS, USERS[7]!].map((id, i) => ({ id, image: `photos/${id}-${i}.jpg`, seed: i + 1 }));
    const csv = await writePeople(dir, people, 'username,name,photo');
    const codes: string[] = [];
    for (const k of [1, 2, 3]) {
      await runCli([...targetArgs(csv, join(dir, 'd.jsonl')), '--shard', `${k}/3`], { env: { MATRIX_ACCESS_TOKEN: synapse.adminToken } });
      for (const line of rowLines(await readLedger(join(dir, `d.shard-${k}-of-3.jsonl`)))) if (line.error) codes.push(line.error.code);
    }
    expect(codes).toEqual(['duplicate_user']);
  });

  test.each([
    [['--shard', '5/4'], '--shard expects K/N with 1 ≤ K ≤ N'],
    [['--shard', 'half'], '--shard expects K/N'],
    [['--shards', '4'], '--shards is the count for --shard auto'],
    [['--max-rate-per-shard', '5'], '--max-rate-per-shard is for sharded runs'],
    [['--shard', '1/4', '--max-rate', '10', '--max-rate-per-shard', '5'], 'not both'],
    [['--shard', 'auto', '--shards', '4'], 'JOB_COMPLETION_INDEX'],
  ])('%j is a usage error before anything is sent', async (extra, message) => {
    const { dir, csv } = await setUp();
    const result = await runCli([...targetArgs(csv, join(dir, 'u.jsonl')), ...extra], { env: { MATRIX_ACCESS_TOKEN: synapse.adminToken, JOB_COMPLETION_INDEX: '' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(synapse.server.requests).toHaveLength(0);
  });
});
