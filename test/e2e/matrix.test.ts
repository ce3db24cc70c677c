import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FakeSynapse } from '../../testkit/servers/synapse.js';
import { lastRun, readLedger, remoteLedger, rowLines, runCli, stateEnv, tempDir } from '../support/cli.js';
import { writePeople } from '../support/photos.js';

// --target matrix through the CLI, against a fake Synapse that follows the contract: what an admin
// sees (exit codes, ledger) and what went over the wire (the server's own counters).

let synapse: FakeSynapse;
afterEach(async () => synapse?.close());

async function people(dir: string, names: string[]): Promise<string> {
  return writePeople(dir, names.map((name, i) => ({ id: name, image: `photos/${name}.jpg`, seed: i + 1 })), 'username,name,photo');
}

/** The default ledger of this homeserver, with the run's state folder in the test's folder. */
const ledgerOf = (dir: string): string => remoteLedger(dir, 'matrix', synapse.url);

function cli(csv: string, token: string, extra: string[] = []) {
  return runCli([csv, '--target', 'matrix', '--homeserver', synapse.url, '--user-template', '@{username}:example.org', '--progress', 'off', ...extra], {
    env: { MATRIX_ACCESS_TOKEN: token, ...stateEnv(dirname(csv)) },
  });
}

describe('avatar-import --target matrix', () => {
  test('sets avatars, reports missing and deactivated users, and never creates a user', async () => {
    synapse = await FakeSynapse.start();
    synapse.addUser('ana', { avatar_url: 'mxc://example.org/before' });
    synapse.addUser('bo');
    synapse.addUser('cy', { deactivated: true });
    const users = synapse.userCount;
    const dir = await tempDir();
    const csv = await people(dir, ['ana', 'bo', 'cy', 'ghost', 'Bad Id']);

    const result = await cli(csv, synapse.adminToken);

    expect(result.code).toBe(1);
    const byUser = Object.fromEntries(rowLines(await readLedger(ledgerOf(dir))).map((l) => [l.user, l]));
    // Ana chose her avatar before the tool ever set one: first contact keeps it.
    expect(byUser['@ana:example.org']).toMatchObject({ status: 'skipped', reason: 'has_own_avatar', found: 'mxc://example.org/before' });
    expect(synapse.avatarOf('@ana:example.org')).toBe('mxc://example.org/before');
    expect(byUser['@bo:example.org']?.status).toBe('ok');
    expect(byUser['@cy:example.org']?.error?.code).toBe('user_deactivated');
    expect(byUser['@ghost:example.org']?.error?.code).toBe('user_not_found');
    expect(byUser['@Bad Id:example.org']?.error?.code).toBe('invalid_user_id');
    expect(synapse.userCount).toBe(users);
    expect(synapse.server.count('admin_user_put')).toBe(0);
    expect(synapse.uploads).toHaveLength(1);
  });

  test('a nightly re-run of unchanged users makes no upload and no per-user lookup', async () => {
    synapse = await FakeSynapse.start();
    for (const name of ['ana', 'bo', 'cy']) synapse.addUser(name);
    const dir = await tempDir();
    const csv = await people(dir, ['ana', 'bo', 'cy']);
    expect((await cli(csv, synapse.adminToken)).code).toBe(0);
    const uploads = synapse.uploads.length;
    const puts = synapse.server.count('profile_put');
    // open() checks the admin's own account each run; a per-user lookup would name a CSV user.
    const perUserGets = () => synapse.server.requests.filter((r) => r.route === 'admin_user_get' && !decodeURIComponent(r.path).includes('@admin:')).length;

    const again = await cli(csv, synapse.adminToken);

    expect(again.code).toBe(0);
    expect(lastRun(await readLedger(ledgerOf(dir))).map((l) => l.status)).toEqual(['skipped', 'skipped', 'skipped']);
    expect(synapse.uploads).toHaveLength(uploads);
    expect(synapse.server.count('profile_put')).toBe(puts);
    expect(perUserGets()).toBe(0);
    expect(synapse.server.count('admin_users_list')).toBeGreaterThan(0);
    expect(again.stdout).toContain('images read: 0 (0 B)');
  });

  test('a user who set their own avatar since keeps it, unless --overwrite-user-changes', async () => {
    synapse = await FakeSynapse.start();
    synapse.addUser('ana');
    const dir = await tempDir();
    const csv = await people(dir, ['ana']);
    await cli(csv, synapse.adminToken);
    const ana = synapse.login('@ana:example.org');
    // Ana changes her own avatar through the client API, as Element would.
    const response = await fetch(`${synapse.url}/_matrix/client/v3/profile/${encodeURIComponent('@ana:example.org')}/avatar_url`, {
      method: 'PUT', headers: { authorization: `Bearer ${ana}`, 'content-type': 'application/json' }, body: JSON.stringify({ avatar_url: 'mxc://example.org/chosenByAna' }),
    });
    expect(response.status).toBe(200);

    const kept = await cli(csv, synapse.adminToken);
    expect(kept.code).toBe(0);
    expect(lastRun(await readLedger(ledgerOf(dir)))[0]).toMatchObject({ status: 'skipped', reason: 'changed_by_user' });
    expect(synapse.avatarOf('@ana:example.org')).toBe('mxc://example.org/chosenByAna');

    const overwritten = await cli(csv, synapse.adminToken, ['--overwrite-user-changes']);
    expect(overwritten.code).toBe(0);
    expect(lastRun(await readLedger(ledgerOf(dir)))[0]).toMatchObject({ status: 'ok', previous: 'mxc://example.org/chosenByAna' });
  });

  test('through a 429 storm every row ends ok and nothing is uploaded twice', async () => {
    synapse = await FakeSynapse.start();
    const names = Array.from({ length: 12 }, (_, i) => `user${i}`);
    for (const name of names) synapse.addUser(name);
    synapse.setFaults({ storm: { requests: 20, retryAfterMs: 20 } });
    const dir = await tempDir();
    const csv = await people(dir, names);

    const result = await cli(csv, synapse.adminToken);

    expect(result.code).toBe(0);
    expect(rowLines(await readLedger(ledgerOf(dir))).every((l) => l.status === 'ok')).toBe(true);
    expect(synapse.server.requests.filter((r) => r.fault === 'storm')).toHaveLength(20);
    expect(synapse.uploads).toHaveLength(12);
    for (const name of names) expect(synapse.avatarOf(`@${name}:example.org`)).toMatch(/^mxc:\/\//);
  });

  test('a bad token aborts with exit 3 before any upload; the next run with a good token finishes', async () => {
    synapse = await FakeSynapse.start();
    synapse.addUser('ana');
    synapse.addUser('bo');
    const dir = await tempDir();
    const csv = await people(dir, ['ana', 'bo']);

    const refused = await cli(csv, 'syt_not_a_real_token_12345');
    expect(refused.code).toBe(3);
    expect(refused.stderr + refused.stdout).toMatch(/token/i);
    expect(synapse.uploads).toHaveLength(0);
    expect(rowLines(await readLedger(ledgerOf(dir)))).toHaveLength(0);

    const resumed = await cli(csv, synapse.adminToken);
    expect(resumed.code).toBe(0);
    expect(rowLines(await readLedger(ledgerOf(dir))).map((l) => l.status)).toEqual(['ok', 'ok']);
  });

  test('a token of a user who is not a server admin aborts with exit 3, saying so', async () => {
    synapse = await FakeSynapse.start();
    synapse.addUser('ana');
    const dir = await tempDir();
    const csv = await people(dir, ['ana']);

    const result = await cli(csv, synapse.login('@ana:example.org'));

    expect(result.code).toBe(3);
    expect(result.stderr + result.stdout).toMatch(/not a server admin/);
    expect(synapse.uploads).toHaveLength(0);
  });

  test('the token never appears in output, ledger or the run line, whether it comes from the environment or a file', async () => {
    synapse = await FakeSynapse.start();
    synapse.addUser('ana');
    const dir = await tempDir();
    const csv = await people(dir, ['ana', 'ghost']);
    await writeFile(join(dir, 'token'), synapse.adminToken + '\n', { mode: 0o600 });

    const fromEnv = await cli(csv, synapse.adminToken, ['--verbose']);
    const fromFile = await runCli([csv, '--target', 'matrix', '--homeserver', synapse.url, '--token-file', join(dir, 'token'), '--user-template', '@{username}:example.org', '--verbose', '--force'], { env: { MATRIX_ACCESS_TOKEN: '', ...stateEnv(dir) } });

    expect(fromEnv.code).toBe(1);
    // ghost is still missing, exactly as last time: a carried-over failure (exit 4), not a new one.
    expect(fromFile.code).toBe(4);
    const everything = fromEnv.stdout + fromEnv.stderr + fromFile.stdout + fromFile.stderr + (await readFile(ledgerOf(dir), 'utf8'));
    expect(everything).not.toContain(synapse.adminToken);
  });

  test('a token on the command line is not accepted', async () => {
    synapse = await FakeSynapse.start();
    const dir = await tempDir();
    const csv = await people(dir, ['ana']);
    const result = await runCli([csv, '--target', 'matrix', '--homeserver', synapse.url, '--token', synapse.adminToken, '--user-template', '@{username}:example.org'], { env: { MATRIX_ACCESS_TOKEN: '', ...stateEnv(dir) } });
    expect(result.code).toBe(2);
    expect(synapse.server.requests).toHaveLength(0);
  });
});
