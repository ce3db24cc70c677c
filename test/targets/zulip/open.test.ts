// Before the first row: the target proves it can work (a Zulip server, an administrator's key,
// the size limit, the user list) or stops the run with a FatalError saying what is wrong.
import { FatalError } from '../../../src/errors.js';
import { credentials, jwt, setup, signal, type Setup } from './helpers.js';

let s: Setup;
afterEach(async () => {
  await s.zulip.close();
  expect(s.zulip.server.errors).toEqual([]);
});

describe('zulip target: open()', () => {
  test('reads server_settings, checks the admin key, reads the limit from /register, lists users once', async () => {
    s = await setup({ maxAvatarFileSizeMib: 3 });
    const target = s.target(credentials(s.zulip, []));
    const limits = await target.open(signal());
    expect(target.serverVersion).toBe('11.4');
    expect(limits).toEqual({ preferredEdge: 500, maxBytes: 3 * 1024 * 1024 });
    expect(s.zulip.server.counts()).toEqual({ server_settings: 1, users_me: 1, register: 1, delete_queue: 1, users: 1 });
    expect(s.zulip.queues.size).toBe(0); // the event queue /register made is not left behind
    const register = s.zulip.server.requests.find((r) => r.route === 'register')!;
    expect(register.headers['content-type']).toBe('application/x-www-form-urlencoded');
    // Gravatar users' avatar_url would be null with the server's default (§9).
    expect(s.zulip.server.requests.find((r) => r.route === 'users')!.search).toBe('?client_gravatar=false');
    for (const r of s.zulip.server.requests.filter((q) => q.route !== 'server_settings')) expect(r.headers.accept).toBe('application/json');
    await target.close();
  });

  test('a refused admin key is fatal before anything else is asked, and the key is not in the message', async () => {
    s = await setup();
    const target = s.target(credentials(s.zulip, []), { config: { admin: { email: s.zulip.admin.email, key: 'A'.repeat(32) } } });
    const error = await target.open(signal()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FatalError);
    expect(error).toMatchObject({ code: 'admin_key_refused' });
    expect((error as Error).message).toMatch(/HTTP 401 UNAUTHORIZED: Invalid API key/);
    expect((error as Error).message).not.toContain('A'.repeat(32));
    expect(s.zulip.server.count('register')).toBe(0);
    expect(s.zulip.server.count('users')).toBe(0);
  });

  test("a member's key is not enough for discovery: fatal, naming the account", async () => {
    s = await setup();
    const bo = s.zulip.addUser('bo@corp.example');
    const target = s.target(credentials(s.zulip, []), { config: { admin: { email: bo.email, key: bo.apiKey } } });
    const error = await target.open(signal()).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'fatal', code: 'not_admin' });
    expect((error as Error).message).toContain('bo@corp.example is not an administrator');
  });

  test('--jwt-key-file on a server older than 7.0 (no jwt/fetch_api_key) is fatal', async () => {
    s = await setup({ version: '6.2', featureLevel: 145 });
    const target = s.target(await jwt());
    await expect(target.open(signal())).rejects.toMatchObject({ kind: 'fatal', code: 'unsupported_server' });
  });

  test('a URL that is not a Zulip server is fatal, not a row error', async () => {
    s = await setup();
    const target = s.target(credentials(s.zulip, []), { config: { site: s.zulip.url + '/not-zulip' } });
    await expect(target.open(signal())).rejects.toMatchObject({ kind: 'fatal' });
  });

  test('a 429 on the admin key pauses discovery and asks again; open() succeeds', async () => {
    s = await setup();
    s.zulip.setFaults({ routes: ['users'], storm: { requests: 1, retryAfterMs: 20 } });
    const target = s.target(credentials(s.zulip, []));
    await target.open(signal());
    expect(s.zulip.server.count('users', 429)).toBe(1);
    expect(s.zulip.server.count('users', 200)).toBe(1);
    expect(target.adminPacer!.stats.rateLimited).toBe(1);
  });

  test('a server that keeps failing during start-up is fatal once retries run out', async () => {
    s = await setup();
    s.zulip.setFaults({ errorEvery: 1 });
    const target = s.target(credentials(s.zulip, []), { config: { retries: 2 } });
    await expect(target.open(signal())).rejects.toMatchObject({ kind: 'fatal', code: 'target_unavailable' });
    expect(s.zulip.server.count('server_settings')).toBe(3);
  });
});
