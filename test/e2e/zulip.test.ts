import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FakeZulip, type ZulipOptions } from '../../testkit/servers/zulip.js';
import { lastRun, readLedger, remoteLedger, rowLines, runCli, stateEnv, tempDir, type LedgerRow } from '../support/cli.js';
import { photo } from '../support/photos.js';

// --target zulip through the CLI, against a fake Zulip that follows the contract: what an admin
// sees (exit codes, ledger) and what went over the wire (the server's own counters).

const JWT_SECRET = 'e2e-jwt-secret-0123456789abcdefghij';
let zulip: FakeZulip;
afterEach(async () => {
  await zulip?.close();
  expect(zulip.server.errors).toEqual([]);
});

async function start(options: ZulipOptions = {}, users: string[] = []): Promise<FakeZulip> {
  zulip = await FakeZulip.start(options);
  for (const email of users) zulip.addUser(email);
  return zulip;
}

/** people.csv (email,name,photo) with 800×600 photos, in a fresh folder; returns [dir, csv]. */
async function people(emails: string[]): Promise<[string, string]> {
  const dir = await tempDir();
  await mkdir(join(dir, 'photos'));
  const lines = ['email,name,photo'];
  for (const [i, email] of emails.entries()) {
    await writeFile(join(dir, 'photos', `p${i}.jpg`), await photo(i + 1, 800, 600));
    lines.push(`${email},Person ${i},photos/p${i}.jpg`);
  }
  await writeFile(join(dir, 'people.csv'), lines.join('\n') + '\n');
  return [dir, join(dir, 'people.csv')];
}

/** An admin zuliprc for the fake server, written where a careful admin would keep it. */
async function adminRc(dir: string, key = zulip.admin.apiKey): Promise<string> {
  const path = join(dir, 'admin.zuliprc');
  await writeFile(path, `[api]\nemail=${zulip.admin.email}\nkey=${key}\nsite=${zulip.url}\n`, { mode: 0o600 });
  return path;
}

async function keysCsv(dir: string, rows: [string, string][]): Promise<string> {
  const path = join(dir, 'keys.csv');
  await writeFile(path, ['email,api_key', ...rows.map(([e, k]) => `${e},${k}`)].join('\n') + '\n', { mode: 0o600 });
  return path;
}

/** The organisation's default ledger, with the run's state folder in the test's folder. */
const ledgerOf = (dir: string): string => remoteLedger(dir, 'zulip', zulip.url);

function cli(dir: string, csv: string, extra: string[], env: Record<string, string> = {}) {
  return runCli([csv, '--target', 'zulip', '--progress', 'off', ...extra], {
    env: { ZULIP_EMAIL: '', ZULIP_API_KEY: '', ZULIP_SITE: '', XDG_CONFIG_HOME: join(dir, 'config'), ...stateEnv(dir), ...env },
  });
}

const byUser = (lines: LedgerRow[]) => Object.fromEntries(lines.map((l) => [l.user, l]));

describe('avatar-import --target zulip', () => {
  test('with --credentials: each avatar set with its own key; unknown, deactivated, bot and wrong-key rows fail alone; exit 1', async () => {
    await start({}, ['ana@corp.example', 'bo@corp.example', 'di@corp.example']);
    zulip.addUser('cy@corp.example', { isActive: false });
    zulip.addUser('notify-bot@corp.example', { isBot: true });
    const [dir, csv] = await people(['Ana@Corp.Example', 'bo@corp.example', 'cy@corp.example', 'notify-bot@corp.example', 'ghost@corp.example', 'di@corp.example']);
    const keys = await keysCsv(dir, [
      ['ana@corp.example', zulip.keyOf('ana@corp.example')],
      ['bo@corp.example', zulip.keyOf('bo@corp.example')],
      ['cy@corp.example', zulip.keyOf('cy@corp.example')],
      ['notify-bot@corp.example', zulip.keyOf('notify-bot@corp.example')],
      ['di@corp.example', zulip.keyOf('bo@corp.example')], // a wrong key: bo's
    ]);

    const result = await cli(dir, csv, ['--admin-zuliprc', await adminRc(dir), '--credentials', keys]);

    expect(result.code).toBe(1);
    const rows = byUser(rowLines(await readLedger(ledgerOf(dir))));
    const ana = zulip.byEmail('ana@corp.example')!;
    expect(rows['Ana@Corp.Example']).toMatchObject({ status: 'ok', remote: String(ana.avatarVersion), edge: 500 });
    expect(rows['Ana@Corp.Example']?.previous).toBe('default');
    expect(rows['bo@corp.example']).toMatchObject({ status: 'ok', remote: '2' });
    expect(rows['cy@corp.example']?.error?.code).toBe('user_deactivated');
    expect(rows['notify-bot@corp.example']?.error?.code).toBe('invalid_user_id');
    expect(rows['ghost@corp.example']?.error?.code).toBe('user_not_found');
    expect(rows['di@corp.example']?.error?.code).toBe('credentials_invalid');
    // Every upload was made by the account it changed, and only ana and bo changed.
    for (const u of zulip.uploads) expect(zulip.byEmail(u.authEmail)?.userId).toBe(u.userId);
    expect(zulip.uploads.map((u) => u.authEmail).sort()).toEqual(['ana@corp.example', 'bo@corp.example']);
    expect(zulip.byEmail('di@corp.example')!.avatarVersion).toBe(1);
    expect(zulip.server.count('users')).toBe(1);
  });

  test('with a folder of zuliprc files and the admin key from ZULIP_EMAIL/ZULIP_API_KEY', async () => {
    await start({}, ['ana@corp.example', 'bo@corp.example']);
    const [dir, csv] = await people(['ana@corp.example', 'bo@corp.example']);
    const rcs = join(dir, 'zuliprcs');
    await mkdir(rcs, { mode: 0o700 });
    for (const email of ['ana@corp.example', 'bo@corp.example']) {
      await writeFile(join(rcs, `${email}.zuliprc`), `[api]\nemail=${email}\nkey=${zulip.keyOf(email)}\nsite=${zulip.url}\n`, { mode: 0o600 });
    }

    const result = await cli(dir, csv, ['--site', zulip.url, '--credentials', rcs], { ZULIP_EMAIL: zulip.admin.email, ZULIP_API_KEY: zulip.admin.apiKey });

    expect(result.code).toBe(0);
    expect(rowLines(await readLedger(ledgerOf(dir))).map((l) => l.status)).toEqual(['ok', 'ok']);
    expect(zulip.uploads).toHaveLength(2);
  });

  test('nightly with --jwt-key-file: keys minted once and cached 0600; the re-run uploads nothing, fetches nothing; a user\'s own change is kept', async () => {
    await start({ jwtSecret: JWT_SECRET }, ['ana@corp.example', 'bo@corp.example']);
    const [dir, csv] = await people(['ana@corp.example', 'bo@corp.example']);
    const secret = join(dir, 'jwt.secret');
    await writeFile(secret, JWT_SECRET + '\n', { mode: 0o600 });
    const args = ['--admin-zuliprc', await adminRc(dir), '--jwt-key-file', secret];
    const ledger = ledgerOf(dir);

    const first = await cli(dir, csv, args);
    expect(first.code).toBe(0);
    expect(zulip.jwtFetches.sort()).toEqual(['ana@corp.example', 'bo@corp.example']);
    // The default cache: the user's config folder (XDG_CONFIG_HOME here), one file per server.
    const cache = join(dir, 'config', 'avatar-import', 'zulip-keys', `${new URL(zulip.url).host.replace(':', '_')}.jsonl`);
    expect((await stat(cache)).mode & 0o777).toBe(0o600);
    expect(lastRun(await readLedger(ledger)).map((l) => l.remote)).toEqual(['2', '2']);

    const requests = zulip.server.requests.length;
    const second = await cli(dir, csv, args);
    expect(second.code).toBe(0);
    expect(lastRun(await readLedger(ledger)).map((l) => l.status)).toEqual(['skipped', 'skipped']);
    expect(second.stdout).toContain('images read: 0 (0 B)');
    expect(zulip.uploads).toHaveLength(2);
    expect(zulip.jwtFetches).toHaveLength(2);
    // Discovery only: nothing was sent with a user's key, nothing per row with the admin's.
    expect(zulip.server.requests.slice(requests).map((r) => r.route).sort()).toEqual(['delete_queue', 'register', 'server_settings', 'users', 'users_me']);

    zulip.userChangesAvatar('ana@corp.example');
    const third = await cli(dir, csv, args);
    expect(third.code).toBe(0);
    expect(byUser(lastRun(await readLedger(ledger)))['ana@corp.example']).toMatchObject({ status: 'skipped', reason: 'changed_by_user' });
    expect(zulip.uploads).toHaveLength(2);

    const forced = await cli(dir, csv, [...args, '--overwrite-user-changes']);
    expect(forced.code).toBe(0);
    expect(byUser(lastRun(await readLedger(ledger)))['ana@corp.example']).toMatchObject({ status: 'ok', remote: '4' });
    expect(zulip.uploads.map((u) => u.authEmail)).toEqual(expect.arrayContaining(['ana@corp.example']));
    expect(zulip.uploads).toHaveLength(3);
    expect(zulip.jwtFetches).toHaveLength(2); // the cached key was used
  });

  test('a refused admin key aborts with exit 3 before any upload or row; the next run with a good key finishes', async () => {
    await start({}, ['ana@corp.example']);
    const [dir, csv] = await people(['ana@corp.example']);
    const keys = await keysCsv(dir, [['ana@corp.example', zulip.keyOf('ana@corp.example')]]);

    const refused = await cli(dir, csv, ['--admin-zuliprc', await adminRc(dir, 'WrongKeyWrongKeyWrongKeyWrongKey'), '--credentials', keys]);
    expect(refused.code).toBe(3);
    expect(refused.stderr + refused.stdout).toMatch(/refused the administrator's API key/);
    expect(zulip.server.count('avatar_upload')).toBe(0);
    expect(zulip.server.count('register')).toBe(0);
    expect(rowLines(await readLedger(ledgerOf(dir)))).toHaveLength(0);

    const resumed = await cli(dir, csv, ['--admin-zuliprc', await adminRc(dir), '--credentials', keys]);
    expect(resumed.code).toBe(0);
    expect(zulip.uploads).toHaveLength(1);
  });

  test('a restricted organisation: members fail with avatar_changes_disabled, administrators are set', async () => {
    await start({ realmAvatarChangesDisabled: true }, ['ana@corp.example']);
    const [dir, csv] = await people(['ana@corp.example', zulip.admin.email]);
    const keys = await keysCsv(dir, [['ana@corp.example', zulip.keyOf('ana@corp.example')]]);

    const result = await cli(dir, csv, ['--admin-zuliprc', await adminRc(dir), '--credentials', keys]);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/lets only administrators change avatars/);
    const rows = byUser(rowLines(await readLedger(ledgerOf(dir))));
    expect(rows['ana@corp.example']?.error?.code).toBe('avatar_changes_disabled');
    expect(rows[zulip.admin.email]?.status).toBe('ok');
    expect(zulip.uploads.map((u) => u.userId)).toEqual([zulip.admin.userId]);
    expect(zulip.requestsBy('ana@corp.example')).toBe(0);
  });

  test('an organisation that restricts avatar changes later: unchanged rows are still skipped, a new photo fails', async () => {
    await start({}, ['ana@corp.example', 'bo@corp.example']);
    const [dir, csv] = await people(['ana@corp.example', 'bo@corp.example']);
    const keys = await keysCsv(dir, ['ana@corp.example', 'bo@corp.example'].map((e) => [e, zulip.keyOf(e)]));
    const args = ['--admin-zuliprc', await adminRc(dir), '--credentials', keys];
    expect((await cli(dir, csv, args)).code).toBe(0);

    zulip.realmAvatarChangesDisabled = true;
    await writeFile(join(dir, 'photos', 'p1.jpg'), await photo(42, 800, 600));
    const result = await cli(dir, csv, args);

    expect(result.code).toBe(1);
    const rows = byUser(lastRun(await readLedger(ledgerOf(dir))));
    expect(rows['ana@corp.example']).toMatchObject({ status: 'skipped' });
    expect(rows['bo@corp.example']?.error?.code).toBe('avatar_changes_disabled');
    expect(zulip.uploads).toHaveLength(2);
  });

  test('--max-bytes is capped by max_avatar_file_size_mib; the default edge is 500 px', async () => {
    await start({ maxAvatarFileSizeMib: 0.5 }, ['ana@corp.example']);
    const [dir, csv] = await people(['ana@corp.example']);
    const keys = await keysCsv(dir, [['ana@corp.example', zulip.keyOf('ana@corp.example')]]);

    const result = await cli(dir, csv, ['--admin-zuliprc', await adminRc(dir), '--credentials', keys, '--max-bytes', '5MiB']);

    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/--max-bytes capped to/);
    const lines = await readLedger(ledgerOf(dir));
    const run = lines.find((l) => l.type === 'run') as unknown as { options: { normalise: { maxBytes: number; size: number } } };
    expect(run.options.normalise).toMatchObject({ maxBytes: 512 * 1024, size: 500 });
    expect(rowLines(lines)[0]).toMatchObject({ status: 'ok', edge: 500 });
  });

  test('a 429 on one user\'s key is waited out (fractional Retry-After) and the row ends ok', async () => {
    await start({}, ['ana@corp.example', 'bo@corp.example']);
    zulip.limitNext('ana@corp.example', 2, 0.05);
    const [dir, csv] = await people(['ana@corp.example', 'bo@corp.example']);
    const keys = await keysCsv(dir, ['ana@corp.example', 'bo@corp.example'].map((e) => [e, zulip.keyOf(e)]));

    const result = await cli(dir, csv, ['--admin-zuliprc', await adminRc(dir), '--credentials', keys]);

    expect(result.code).toBe(0);
    expect(zulip.server.requests.filter((r) => r.outcome === 429)).toHaveLength(2);
    expect(zulip.uploads.map((u) => u.authEmail).sort()).toEqual(['ana@corp.example', 'bo@corp.example']);
  });

  test('an HR export with a numeric id and a work e-mail: Zulip finds users by e-mail, so the e-mail column is taken', async () => {
    await start({ jwtSecret: JWT_SECRET }, ['ana@corp.example']);
    const dir = await tempDir();
    await mkdir(join(dir, 'photos'));
    await writeFile(join(dir, 'photos', 'ana.jpg'), await photo(1, 800, 600));
    const csv = join(dir, 'workers.csv');
    await writeFile(csv, 'ID,Work Email,Photo\n1001,ana@corp.example,photos/ana.jpg\n');
    const secret = join(dir, 'jwt.secret');
    await writeFile(secret, JWT_SECRET + '\n', { mode: 0o600 });

    const result = await cli(dir, csv, ['--admin-zuliprc', await adminRc(dir), '--jwt-key-file', secret]);

    expect(result.code).toBe(0);
    expect(result.stderr.split('\n')[0]).toBe('columns: id "Work Email" (the target matches users by e-mail), image "Photo"');
    expect(rowLines(await readLedger(ledgerOf(dir))).map((l) => [l.user, l.status])).toEqual([['ana@corp.example', 'ok']]);
  });

  test('the same person twice, in another case, is a duplicate row', async () => {
    await start({}, ['ana@corp.example']);
    const [dir, csv] = await people(['ana@corp.example', 'ANA@corp.example']);
    const keys = await keysCsv(dir, [['ana@corp.example', zulip.keyOf('ana@corp.example')]]);
    const result = await cli(dir, csv, ['--admin-zuliprc', await adminRc(dir), '--credentials', keys]);
    expect(result.code).toBe(1);
    const rows = rowLines(await readLedger(ledgerOf(dir))).sort((a, b) => (a.row ?? 0) - (b.row ?? 0));
    expect(rows.map((l) => l.error?.code ?? l.status)).toEqual(['ok', 'duplicate_user']);
    expect(zulip.uploads).toHaveLength(1);
  });

  test('no key or secret appears in output, ledger or the key cache', async () => {
    await start({ jwtSecret: JWT_SECRET }, ['ana@corp.example']);
    const [dir, csv] = await people(['ana@corp.example', 'ghost@corp.example']);
    const secret = join(dir, 'jwt.secret');
    await writeFile(secret, JWT_SECRET, { mode: 0o600 });
    const cache = join(dir, 'keys.jsonl');

    const result = await cli(dir, csv, ['--site', zulip.url, '--jwt-key-file', secret, '--key-cache', cache, '--verbose'], { ZULIP_EMAIL: zulip.admin.email, ZULIP_API_KEY: zulip.admin.apiKey });

    expect(result.code).toBe(1);
    const everything = result.stdout + result.stderr + (await readFile(ledgerOf(dir), 'utf8')) + (await readFile(cache, 'utf8'));
    for (const s of [JWT_SECRET, zulip.admin.apiKey, zulip.keyOf('ana@corp.example')]) expect(everything).not.toContain(s);
    for (const r of zulip.server.requests) expect(r.search).not.toMatch(/key|token/i);
  });
});
