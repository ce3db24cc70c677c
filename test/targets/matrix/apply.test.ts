// Setting avatars: upload + client profile PUT, what is sent and how often, through rate limits,
// failures and ambiguous writes. Counters on the fake Synapse say what really went over the wire.
import { FakeClock } from '../../net/fake-clock.js';
import { avatar, importRow, outcomes, setup, type Setup } from './helpers.js';

let s: Setup;
afterEach(async () => {
  await s.synapse.close();
  expect(s.synapse.server.errors).toEqual([]); // the fake itself did not break
});

const ids = (n: number, prefix = 'user') => Array.from({ length: n }, (_, i) => `@${prefix}${i}:example.org`);

describe('matrix target: apply()', () => {
  test('uploads the JPEG as is and sets it with the client profile PUT; the mxc carries the server_name, not the API host', async () => {
    s = await setup();
    const ana = s.synapse.addUser('ana', { avatar_url: 'mxc://example.org/OldOne' });
    await s.open();
    const image = avatar('ana');
    const applied = await importRow(s.target, ana, image);

    expect(applied.remote).toMatch(/^mxc:\/\/example\.org\/[A-Za-z0-9_-]{24}$/);
    expect(applied.previous).toBe('mxc://example.org/OldOne');
    expect(s.synapse.avatarOf(ana)).toBe(applied.remote);
    const [upload] = s.synapse.uploads;
    expect(upload).toMatchObject({ mxc: applied.remote, contentType: 'image/jpeg', uploader: '@admin:example.org' });
    expect(upload!.bytes.equals(image.jpeg)).toBe(true);
    expect(upload!.filename).toMatch(/^avatar-[0-9a-f]{16}\.jpg$/);
    const sent = s.synapse.server.requests.find((r) => r.route === 'upload')!;
    expect(sent.headers['content-length']).toBe(String(image.jpeg.length));
    expect(s.synapse.server.count('profile_put')).toBe(1);
    expect(s.synapse.server.count('admin_user_put')).toBe(0);
  });

  test('a run over existing, missing, deactivated and invalid users never creates a user', async () => {
    s = await setup();
    s.synapse.addUser('ana');
    s.synapse.addUser('bo');
    s.synapse.addUser('cy', { deactivated: true });
    await s.open();
    const users = s.synapse.userCount;
    const rows = ['@ana:example.org', '@bo:example.org', '@cy:example.org', '@ghost:example.org', '@Ghost:example.org'];
    expect(await outcomes(rows.map((u) => importRow(s.target, u, avatar(u))))).toEqual(['ok', 'ok', 'user_deactivated', 'user_not_found', 'invalid_user_id']);
    expect(s.synapse.userCount).toBe(users);
    expect(s.synapse.server.count('admin_user_put')).toBe(0);
    expect(s.synapse.server.count('profile_put')).toBe(2);
    expect(s.synapse.profiles.has('@ghost:example.org')).toBe(false);
    expect(s.synapse.uploads).toHaveLength(2);
  });

  test('identical avatar bytes within one run are uploaded once and the mxc reused, even by concurrent rows', async () => {
    s = await setup();
    const users = ids(6).map((id) => s.synapse.addUser(id));
    await s.open();
    const placeholder = avatar('same picture');
    const applied = await Promise.all([...users.slice(0, 5).map((u) => importRow(s.target, u, placeholder)), importRow(s.target, users[5]!, avatar('other'))]);
    expect(s.synapse.uploads).toHaveLength(2);
    expect(new Set(applied.slice(0, 5).map((a) => a.remote)).size).toBe(1);
    expect(s.synapse.server.count('profile_put')).toBe(6);
  });

  test.each(['old', 'new'] as const)(
    '%s Synapse: a 429 on the profile PUT (which already wrote) re-sends the same mxc after the wait, without uploading again',
    async (release) => {
      // rc_message with a burst of 1: the second change for the same user in a row is limited.
      s = await setup({ release, rcMessage: { perSecond: 20, burst: 1 } });
      const ana = s.synapse.addUser('ana');
      await s.open();
      await importRow(s.target, ana, avatar('first'));
      const second = await importRow(s.target, ana, avatar('second'));
      expect(s.synapse.server.count('profile_put', 429)).toBe(1);
      expect(s.synapse.avatarWrites.map((w) => w.avatar_url)).toEqual([s.synapse.uploads[0]!.mxc, second.remote, second.remote]);
      expect(s.synapse.uploads).toHaveLength(2);
      expect(s.synapse.avatarOf(ana)).toBe(second.remote);
      expect(s.target.pacer!.stats.rateLimited).toBe(1);
    },
  );

  test('through a 429 storm every row ends ok and nothing is stored twice', async () => {
    s = await setup({ release: 'old' }, { config: { concurrency: 4 } });
    const users = ids(20).map((id) => s.synapse.addUser(id));
    await s.open();
    s.synapse.setFaults({ storm: { requests: 15, retryAfterMs: 30 } });
    const applied = await Promise.all(users.map((u) => importRow(s.target, u, avatar(u))));
    expect(s.synapse.server.requests.filter((r) => r.fault === 'storm')).toHaveLength(15);
    expect(s.synapse.uploads).toHaveLength(20);
    expect(s.synapse.server.count('upload', 200)).toBe(20);
    expect(s.synapse.server.count('profile_put', 200)).toBe(20);
    users.forEach((u, i) => expect(s.synapse.avatarOf(u)).toBe(applied[i]!.remote));
    expect(s.synapse.server.count('admin_user_put')).toBe(0);
  });

  test('5xx answers and connection resets are retried; every row ends ok', async () => {
    s = await setup({}, { config: { retries: 8 } });
    const users = ids(12).map((id) => s.synapse.addUser(id));
    await s.open();
    s.synapse.setFaults({ errorEvery: 4, resetEvery: 7 });
    const applied = await Promise.all(users.map((u) => importRow(s.target, u, avatar(u))));
    expect(s.synapse.server.requests.some((r) => r.fault === 'error')).toBe(true);
    expect(s.synapse.server.requests.some((r) => r.fault === 'reset')).toBe(true);
    users.forEach((u, i) => expect(s.synapse.avatarOf(u)).toBe(applied[i]!.remote));
    expect(s.synapse.uploads).toHaveLength(12); // resets 'before' never reached the handler
  });

  test('a server that keeps failing makes the row fail as retryable after --retries', async () => {
    s = await setup({}, { config: { retries: 2 } });
    const ana = s.synapse.addUser('ana');
    await s.open();
    s.synapse.setFaults({ errorEvery: 1, routes: ['profile_put'] });
    await expect(importRow(s.target, ana, avatar('a'))).rejects.toMatchObject({ kind: 'row', code: 'retries_exhausted' });
    expect(s.synapse.server.count('profile_put')).toBe(3);
  });

  test('a timeout on the profile PUT reads the profile back: the write landed, so it is not sent again', async () => {
    // The PUT times out at --request-timeout on a clock that moves only when told, once the
    // server has applied it: a real 150 ms timeout also fired, on a busy machine, before the
    // server had handled the PUT (or answered the media upload).
    const clock = new FakeClock();
    s = await setup({}, { config: { requestTimeoutMs: 5_000 }, deps: { clock } });
    const ana = s.synapse.addUser('ana');
    await s.open();
    // The server applies the PUT, then sits on its answer for longer than any test runs.
    s.synapse.setFaults({ latencyMs: 3_600_000, routes: ['profile_put'] });
    let settled = false;
    const pending = importRow(s.target, ana, avatar('a')).finally(() => (settled = true));
    while (s.synapse.server.count('profile_put') === 0 && !settled) await new Promise((r) => setImmediate(r));
    s.synapse.setFaults({}); // from now on the server answers at once: a re-send would land
    await clock.advance(5_000);
    const applied = await pending;
    expect(s.synapse.avatarOf(ana)).toBe(applied.remote);
    expect(s.synapse.server.count('profile_put')).toBe(1);
    expect(s.synapse.server.requests.at(-1)).toMatchObject({ route: 'admin_user_get' });
  });

  test('a lost PUT whose write did not land is read back, then sent again with the same mxc', async () => {
    s = await setup();
    const ana = s.synapse.addUser('ana');
    await s.open();
    s.synapse.setFaults({ resetEvery: 1, resetWhen: 'before', routes: ['profile_put'] });
    const pending = importRow(s.target, ana, avatar('a'));
    // Let the first PUT be dropped, then let the re-send through.
    while (s.synapse.server.count('profile_put') === 0) await new Promise((r) => setImmediate(r));
    s.synapse.setFaults({});
    const applied = await pending;
    expect(s.synapse.avatarWrites).toEqual([{ user: ana, avatar_url: applied.remote }]);
    expect(s.synapse.server.count('profile_put')).toBe(2);
    expect(s.synapse.uploads).toHaveLength(1);
  });
});

describe('matrix target: refusals', () => {
  test('413 M_TOO_LARGE from Synapse fails the row as upload_rejected, not retried', async () => {
    s = await setup({ maxUploadSize: 8 });
    const ana = s.synapse.addUser('ana');
    await s.open();
    const error = await importRow(s.target, ana, avatar('far too big for 8 bytes')).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'row', code: 'upload_rejected' });
    expect((error as Error).message).toContain('M_TOO_LARGE: Upload request body is too large');
    expect(s.synapse.server.count('upload')).toBe(1);
    expect(s.synapse.server.count('profile_put')).toBe(0);
  });

  test("a reverse proxy's HTML 413 is understood too", async () => {
    s = await setup({ proxyMaxBodySize: 8 });
    const ana = s.synapse.addUser('ana');
    await s.open();
    const error = await importRow(s.target, ana, avatar('far too big for the proxy')).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'upload_rejected' });
    expect((error as Error).message).toContain('413 Request Entity Too Large');
  });

  test('403 "This avatar is not allowed" fails the row as upload_rejected, sent once', async () => {
    s = await setup({ avatarRules: { mimeTypes: ['image/png'] } });
    const ana = s.synapse.addUser('ana');
    await s.open();
    await expect(importRow(s.target, ana, avatar('a'))).rejects.toMatchObject({ code: 'upload_rejected' });
    expect(s.synapse.server.count('profile_put')).toBe(1);
  });

  test("the admin's media upload quota running out stops the run (resumable) instead of failing every later row", async () => {
    s = await setup({ mediaUploadQuota: 1 });
    const [ana, bo, cy] = ['ana', 'bo', 'cy'].map((u) => s.synapse.addUser(u));
    await s.open();
    await importRow(s.target, ana!, avatar('a'));
    await expect(importRow(s.target, bo!, avatar('b'))).rejects.toMatchObject({ kind: 'fatal', code: 'upload_quota_exhausted' });
    await expect(importRow(s.target, cy!, avatar('c'))).rejects.toMatchObject({ kind: 'fatal' });
    expect(s.synapse.server.count('upload')).toBe(2);
  });

  test('a token revoked mid-run is fatal for every worker, and nothing more is sent', async () => {
    s = await setup();
    const users = ids(8).map((id) => s.synapse.addUser(id));
    await s.open();
    await importRow(s.target, users[0]!, avatar('0'));
    s.synapse.revoke(s.synapse.adminToken);
    const results = await outcomes(users.slice(1).map((u) => importRow(s.target, u, avatar(u))));
    expect(new Set(results)).toEqual(new Set(['token_refused']));
    const sent = s.synapse.server.requests.length;
    await expect(importRow(s.target, users[1]!, avatar('later'))).rejects.toMatchObject({ code: 'token_refused' });
    expect(s.synapse.server.requests.length).toBe(sent);
  });
});

describe('matrix target: the token stays secret', () => {
  test('it never appears in a log line, an error message, or a URL', async () => {
    s = await setup({ release: 'old' });
    const token = s.synapse.adminToken;
    const users = ids(6).map((id) => s.synapse.addUser(id));
    await s.open();
    s.synapse.setFaults({ errorEvery: 4, storm: { requests: 3, retryAfterMs: 10 } });
    const messages: string[] = [];
    for (const u of [...users, '@ghost:example.org', '@Bad:example.org']) {
      await importRow(s.target, u, avatar('same')).catch((e: Error) => messages.push(e.message));
      await importRow(s.target, u, avatar(u)).catch((e: Error) => messages.push(e.message));
    }
    s.synapse.revoke(token);
    await importRow(s.target, users[0]!, avatar('x')).catch((e: Error) => messages.push(e.message));
    expect(messages.length).toBeGreaterThan(3);
    expect(s.lines.length).toBeGreaterThan(0); // the pacer did log its waits
    for (const text of [...s.lines, ...messages]) expect(text).not.toContain(token);
    for (const r of s.synapse.server.requests) expect(r.search).not.toContain(token);
  });
});
