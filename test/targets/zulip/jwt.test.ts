// --jwt-key-file: each user's key is fetched once with a real HS256 token, kept encrypted in a
// 0600 file so the next run (a new process) fetches nothing — each fetch emails the user — and a
// cached key Zulip refuses is dropped and fetched again, once.
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import { avatar, importRow, jwt, JWT_SECRET, outcomes, setup, signal, type Setup } from './helpers.js';

let s: Setup;
afterEach(async () => {
  await s.zulip.close();
  expect(s.zulip.server.errors).toEqual([]);
});

describe('zulip target: keys minted with --jwt-key-file', () => {
  test('the first run fetches each key once and caches it (0600, encrypted); the next run fetches none', async () => {
    s = await setup({ jwtSecret: JWT_SECRET });
    const users = ['ana', 'bo', 'cy'].map((n) => s.zulip.addUser(`${n}@corp.example`));
    const mode = await jwt();

    const first = s.target(mode);
    await first.open(signal());
    expect(await outcomes(users.map(async (u, i) => importRow(first, u.email.toUpperCase(), await avatar(i))))).toEqual(['ok', 'ok', 'ok']);
    await first.close();
    expect(s.zulip.jwtFetches.sort()).toEqual(['ana@corp.example', 'bo@corp.example', 'cy@corp.example']);

    const info = await stat(mode.cachePath);
    expect(info.mode & 0o777).toBe(0o600);
    expect((await stat(dirname(mode.cachePath))).mode & 0o077).toBe(0);
    const file = await readFile(mode.cachePath, 'utf8');
    for (const u of users) {
      expect(file).not.toContain(u.apiKey);
      expect(file.toLowerCase()).not.toContain(u.email);
    }

    // A new process: the keys come from the cache, are confirmed once each, and work.
    const second = s.target(mode);
    await second.open(signal());
    await Promise.all(users.map(async (u, i) => importRow(second, u.email, await avatar(i + 10))));
    await second.close();
    expect(s.zulip.jwtFetches).toHaveLength(3);
    expect(s.zulip.uploads).toHaveLength(6);
    for (const u of users) expect(s.zulip.meCalls.get(u.userId)).toBe(2); // once per run
  });

  test('a cached key that was regenerated is refused: dropped, fetched again once, and the new one is kept', async () => {
    s = await setup({ jwtSecret: JWT_SECRET });
    const ana = s.zulip.addUser('ana@corp.example');
    const mode = await jwt();
    const first = s.target(mode);
    await first.open(signal());
    await importRow(first, ana.email, await avatar(1));
    await first.close();

    s.zulip.regenerateKey(ana.email);
    const second = s.target(mode);
    await second.open(signal());
    const applied = await importRow(second, ana.email, await avatar(2));
    await second.close();
    expect(applied.remote).toBe('3');
    expect(s.zulip.jwtFetches).toEqual([ana.email, ana.email]);
    expect(s.zulip.server.count('users_me', 401)).toBe(1);

    const third = s.target(mode);
    await third.open(signal());
    await importRow(third, ana.email, await avatar(3));
    await third.close();
    expect(s.zulip.jwtFetches).toHaveLength(2);
  });

  test('a cached key of a user deactivated since: one refetch, then user_deactivated, and not fatal', async () => {
    s = await setup({ jwtSecret: JWT_SECRET });
    const ana = s.zulip.addUser('ana@corp.example');
    const bo = s.zulip.addUser('bo@corp.example');
    const mode = await jwt();
    const first = s.target(mode);
    await first.open(signal());
    await importRow(first, ana.email, await avatar(1));
    await first.close();

    const second = s.target(mode);
    await second.open(signal());
    s.zulip.deactivate(ana.email);
    // Both images are made before either row starts: ana's row fails, and it must not fail while
    // bo's image is still being made, before anything is there to handle it.
    const [two, three] = await Promise.all([avatar(2), avatar(3)]);
    expect(await outcomes([importRow(second, ana.email, two), importRow(second, bo.email, three)])).toEqual(['user_deactivated', 'ok']);
    await second.close();
    expect(s.zulip.server.count('jwt_fetch_api_key')).toBe(3); // ana, ana again (refused: deactivated), bo
  });

  test('the administrator\'s own row uses the admin key: nothing minted, no login email', async () => {
    s = await setup({ jwtSecret: JWT_SECRET });
    const target = s.target(await jwt());
    await target.open(signal());
    await importRow(target, s.zulip.admin.email.toLowerCase(), await avatar(1));
    await target.close();
    expect(s.zulip.jwtFetches).toEqual([]);
    expect(s.zulip.uploads.map((u) => u.userId)).toEqual([s.zulip.admin.userId]);
  });

  test('a wrong secret is fatal at the first fetch (every row would fail the same way)', async () => {
    s = await setup({ jwtSecret: JWT_SECRET });
    const ana = s.zulip.addUser('ana@corp.example');
    const target = s.target(await jwt(undefined, 'not-the-secret-at-all-0123456789'));
    await target.open(signal());
    const error = await importRow(target, ana.email, await avatar(1)).catch((e: unknown) => e);
    await target.close();
    expect(error).toMatchObject({ kind: 'fatal', code: 'jwt_refused' });
    expect((error as Error).message).toContain('Bad JSON web token');
    expect(s.zulip.uploads).toHaveLength(0);
  });

  test('JWT not enabled for the organisation is fatal too', async () => {
    s = await setup();
    const ana = s.zulip.addUser('ana@corp.example');
    const target = s.target(await jwt());
    await target.open(signal());
    await expect(importRow(target, ana.email, await avatar(1))).rejects.toMatchObject({ kind: 'fatal', code: 'jwt_refused' });
    await target.close();
  });

  test('entries made with another secret are unreadable: the key is fetched again', async () => {
    s = await setup({ jwtSecret: JWT_SECRET });
    const ana = s.zulip.addUser('ana@corp.example');
    const mode = await jwt();
    const first = s.target(mode);
    await first.open(signal());
    await importRow(first, ana.email, await avatar(1));
    await first.close();

    s.zulip.jwtSecret = 'rotated-secret-rotated-secret-01';
    const other = s.target({ ...mode, secret: 'rotated-secret-rotated-secret-01' });
    await other.open(signal());
    expect(s.lines.some((l) => l.includes('1 entries were made with another JWT secret or site'))).toBe(true);
    await importRow(other, ana.email, await avatar(2));
    await other.close();
    expect(s.zulip.jwtFetches).toEqual([ana.email, ana.email]);
    expect(s.zulip.server.count('users_me', 401)).toBe(0); // the old entry was never tried
  });

  test('an existing cache file readable by others is tightened to 0600', async () => {
    s = await setup({ jwtSecret: JWT_SECRET });
    const dir = await mkdtemp(join(tmpdir(), 'zulip-keys-'));
    const path = join(dir, 'keys.jsonl');
    await writeFile(path, '', { mode: 0o644 });
    const target = s.target(await jwt(path));
    await target.open(signal());
    await target.close();
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(s.lines.some((l) => l.includes('could be read by other users'))).toBe(true);
  });
});
