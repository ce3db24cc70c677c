// Setting avatars: one multipart POST /users/me/avatar per row, made with the row's own key after
// that key was confirmed with GET /users/me. Counters on the fake Zulip say what went over the wire.
import { FakeClock } from '../../net/fake-clock.js';
import { photo } from '../../support/photos.js';
import { basicEmail } from '../../../testkit/servers/zulip.js';
import { avatar, credentials, importRow, outcomes, raw, setup, signal, type Setup } from './helpers.js';

let s: Setup;
afterEach(async () => {
  await s.zulip.close();
  expect(s.zulip.server.errors).toEqual([]);
});

describe('zulip target: apply()', () => {
  test('one multipart part, avatar.jpg, image/jpeg, sent as the row\'s own user after one GET /users/me; records the new avatar_version', async () => {
    s = await setup();
    const ana = s.zulip.addUser('ana@corp.example', { avatarVersion: 4 });
    const target = s.target(credentials(s.zulip, [ana.email]));
    await target.open(signal());
    const image = await avatar(1);

    const applied = await importRow(target, 'ANA@corp.example', image);

    expect(s.zulip.uploads).toHaveLength(1);
    const [upload] = s.zulip.uploads;
    expect(upload).toMatchObject({ userId: ana.userId, authEmail: 'ana@corp.example', filename: 'avatar.jpg', contentType: 'image/jpeg', parts: 1, version: 5 });
    expect(upload!.bytes.equals(image.jpeg)).toBe(true);
    expect(applied.remote).toBe('5');
    expect(applied.remote).toBe(String(ana.avatarVersion));
    // A Gravatar is the organisation's default: rollback sets it again with DELETE.
    expect(applied.previous).toBe('default');
    // /users/me as ana, then the upload as ana: nothing else was sent with her key.
    const mine = s.zulip.server.requests.filter((r) => basicEmail(r.headers.authorization) === 'ana@corp.example').map((r) => r.route);
    expect(mine).toEqual(['users_me', 'avatar_upload']);
    const sent = s.zulip.server.requests.find((r) => r.route === 'avatar_upload')!;
    expect(sent.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(Number(sent.headers['content-length'])).toBeGreaterThan(image.jpeg.length);
  });

  test('with no backup folder (a target driven directly), an uploaded avatar\'s previous is its URL, made absolute against the site', async () => {
    s = await setup();
    const ana = s.zulip.addUser('ana@corp.example', { avatarSource: 'U' });
    const target = s.target(credentials(s.zulip, [ana.email]));
    await target.open(signal());
    const applied = await importRow(target, ana.email, await avatar(1));
    expect(applied.previous).toMatch(new RegExp(`^${s.zulip.url}/user_avatars/2/[0-9a-f]{40}\\.png$`));
  });

  test('each key is confirmed with GET /users/me once, however often it is used', async () => {
    s = await setup();
    const ana = s.zulip.addUser('ana@corp.example');
    const target = s.target(credentials(s.zulip, [ana.email]));
    await target.open(signal());
    const first = await importRow(target, ana.email, await avatar(1));
    const second = await importRow(target, ana.email, await avatar(2));
    expect(s.zulip.meCalls.get(ana.userId)).toBe(1);
    expect(s.zulip.uploads).toHaveLength(2);
    expect([first.remote, second.remote]).toEqual(['2', '3']);
    expect(ana.avatarVersion).toBe(3);
  });

  test('a wrong key in --credentials fails that row with credentials_invalid; the run goes on', async () => {
    s = await setup();
    const [ana, bo, cy] = ['ana', 'bo', 'cy'].map((n) => s.zulip.addUser(`${n}@corp.example`));
    // bo's line in the credentials file carries ana's key.
    const target = s.target(credentials(s.zulip, [ana!.email, bo!.email, cy!.email], (e) => s.zulip.keyOf(e === bo!.email ? ana!.email : e)));
    await target.open(signal());

    const results = await outcomes([ana, bo, cy].map(async (u, i) => importRow(target, u!.email, await avatar(i))));

    expect(results).toEqual(['ok', 'credentials_invalid', 'ok']);
    expect(s.zulip.uploads.map((u) => u.userId).sort()).toEqual([ana!.userId, cy!.userId].sort());
    expect(ana!.avatarVersion).toBe(2); // changed once, by ana's own row
    expect(bo!.avatarVersion).toBe(1);
    expect(s.zulip.server.count('user_by_email')).toBe(1); // asked why: bo is still active
  });

  test('the tool never changes one user\'s avatar with another user\'s key, even on a server that would let it', async () => {
    // A server that authenticates by key alone (not Zulip's behaviour): only the tool's own check
    // against /users/me stands between a swapped key and the wrong avatar.
    s = await setup({ ignoreEmailInBasicAuth: true });
    const users = ['ana', 'bo', 'cy', 'di', 'ed', 'fay'].map((n) => s.zulip.addUser(`${n}@corp.example`));
    const emails = users.map((u) => u.email);
    // bo↔cy swapped, di has ed's key, the others their own.
    const given: Record<string, string> = { 'bo@corp.example': 'cy@corp.example', 'cy@corp.example': 'bo@corp.example', 'di@corp.example': 'ed@corp.example' };
    const target = s.target(credentials(s.zulip, emails, (e) => s.zulip.keyOf(given[e] ?? e)));
    await target.open(signal());

    const results = await outcomes(users.map(async (u, i) => importRow(target, u.email, await avatar(i))));

    expect(results).toEqual(['ok', 'credentials_invalid', 'credentials_invalid', 'credentials_invalid', 'ok', 'ok']);
    // Every upload changed the account of the email it was made for, and only rows with their
    // own key changed anything.
    for (const upload of s.zulip.uploads) expect(s.zulip.byEmail(upload.authEmail)!.userId).toBe(upload.userId);
    expect(s.zulip.uploads.map((u) => u.authEmail).sort()).toEqual(['ana@corp.example', 'ed@corp.example', 'fay@corp.example']);
    expect(users.map((u) => u.avatarVersion)).toEqual([2, 1, 1, 1, 2, 2]);
    expect(s.zulip.server.count('avatar_upload')).toBe(3);
  });

  test('a 429 pauses only that user\'s key for the (fractional) Retry-After; other users go on', async () => {
    s = await setup();
    const ana = s.zulip.addUser('ana@corp.example');
    const bo = s.zulip.addUser('bo@corp.example');
    const clock = new FakeClock();
    const target = s.target(credentials(s.zulip, [ana.email, bo.email]), { deps: { clock } });
    await target.open(signal());
    s.zulip.limitNext(ana.email, 1, 0.25);

    const anaRow = importRow(target, ana.email, await avatar(1));
    while (clock.pendingTimers === 0) await new Promise((r) => setImmediate(r));
    // Ana's key waits on the clock, which does not move: bo's row finishes all the same.
    await importRow(target, bo.email, await avatar(2));
    expect(s.zulip.uploads.map((u) => u.userId)).toEqual([bo.userId]);
    expect(clock.sleeps).toEqual([250]);

    await clock.advance(250);
    await anaRow;
    expect(s.zulip.uploads.map((u) => u.userId)).toEqual([bo.userId, ana.userId]);
    expect(s.zulip.requestsBy(ana.email)).toBe(3); // the 429, then /users/me and the upload
    expect(s.zulip.server.requests.filter((r) => r.outcome === 429)).toHaveLength(1);
  });

  test('--max-rate spaces every request of the target, whichever key it uses', async () => {
    s = await setup();
    const ana = s.zulip.addUser('ana@corp.example');
    const bo = s.zulip.addUser('bo@corp.example');
    const clock = new FakeClock();
    const target = s.target(credentials(s.zulip, [ana.email, bo.email]), { config: { maxRate: 2 }, deps: { clock } });
    // Virtual time moves only when every request in flight is waiting on it.
    const drive = async <T>(work: Promise<T>): Promise<T> => {
      let done = false;
      work.then(() => (done = true), () => (done = true));
      while (!done) {
        if (clock.pendingTimers > 0) await clock.advance(500);
        else await new Promise((r) => setImmediate(r));
      }
      return work;
    };
    await drive(target.open(signal()));
    const [one, two] = await Promise.all([avatar(1), avatar(2)]);
    await drive(Promise.all([importRow(target, ana.email, one), importRow(target, bo.email, two)]));
    // 5 start-up requests, then /users/me and the upload for each user: 9 slots, 500 ms apart.
    expect(s.zulip.server.requests).toHaveLength(9);
    expect(clock.now()).toBeGreaterThanOrEqual(8 * 500);
    expect(s.zulip.uploads).toHaveLength(2);
  });

  test('BAD_IMAGE fails the row as upload_rejected and is not sent again', async () => {
    s = await setup();
    const ana = s.zulip.addUser('ana@corp.example');
    const target = s.target(credentials(s.zulip, [ana.email]));
    await target.open(signal());
    const error = await importRow(target, ana.email, raw(Buffer.from('\xff\xd8 definitely not a whole jpeg'))).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'row', code: 'upload_rejected' });
    expect((error as Error).message).toContain('BAD_IMAGE');
    expect(s.zulip.server.count('avatar_upload')).toBe(1);
    expect(ana.avatarVersion).toBe(1);
  });

  test('the server\'s size limit becomes limits.maxBytes; an upload over it is refused, not retried', async () => {
    s = await setup({ maxAvatarFileSizeMib: 0.0005 });
    const ana = s.zulip.addUser('ana@corp.example');
    const target = s.target(credentials(s.zulip, [ana.email]));
    const limits = await target.open(signal());
    expect(limits.maxBytes).toBe(524);
    const big = raw(await photo(1));
    expect(big.jpeg.length).toBeGreaterThan(524);
    await expect(importRow(target, ana.email, big)).rejects.toMatchObject({ code: 'upload_rejected', message: expect.stringContaining('larger than the allowed limit') });
    expect(s.zulip.server.count('avatar_upload')).toBe(1);
  });

  test('5xx answers are retried with backoff; the row ends ok with one upload', async () => {
    s = await setup();
    const ana = s.zulip.addUser('ana@corp.example');
    const target = s.target(credentials(s.zulip, [ana.email]));
    await target.open(signal());
    s.zulip.setFaults({ routes: ['avatar_upload', 'users_me'], errorEvery: 1 });
    const pending = importRow(target, ana.email, await avatar(1));
    while (s.zulip.server.count('users_me') < 2) await new Promise((r) => setImmediate(r));
    s.zulip.setFaults({});
    const applied = await pending;
    expect(applied.remote).toBe('2');
    expect(s.zulip.uploads).toHaveLength(1);
  });

  test('a timed-out upload is read back: it landed, so it is not sent again', async () => {
    s = await setup();
    const ana = s.zulip.addUser('ana@corp.example');
    // The upload times out at --request-timeout on a clock that moves only when told, once the
    // server has applied it: a real 150 ms timeout also fired, on a busy machine, before the
    // server had read the upload (or before it answered a start-up call).
    const clock = new FakeClock();
    const target = s.target(credentials(s.zulip, [ana.email]), { config: { requestTimeoutMs: 5_000 }, deps: { clock } });
    await target.open(signal());
    // The server applies the upload, then sits on its answer for longer than any test runs.
    s.zulip.setFaults({ routes: ['avatar_upload'], latencyMs: 3_600_000 });
    let settled = false;
    const pending = importRow(target, ana.email, await avatar(1)).finally(() => (settled = true));
    while (s.zulip.uploads.length === 0 && !settled) await new Promise((r) => setImmediate(r));
    s.zulip.setFaults({}); // from now on the server answers at once: a re-send would land
    await clock.advance(5_000);
    const applied = await pending;
    expect(s.zulip.server.count('avatar_upload')).toBe(1);
    expect(applied.remote).toBe('2');
    expect(s.zulip.server.requests.at(-1)).toMatchObject({ route: 'user_by_email' });
  });

  test('a user deactivated after start-up: the 401 is explained as user_deactivated', async () => {
    s = await setup();
    const ana = s.zulip.addUser('ana@corp.example');
    const target = s.target(credentials(s.zulip, [ana.email]));
    await target.open(signal());
    s.zulip.deactivate(ana.email);
    await expect(importRow(target, ana.email, await avatar(1))).rejects.toMatchObject({ code: 'user_deactivated' });
    expect(s.zulip.uploads).toHaveLength(0);
  });

  test('keys never appear in a log line, an error message or a URL', async () => {
    s = await setup();
    const users = ['ana', 'bo', 'cy'].map((n) => s.zulip.addUser(`${n}@corp.example`));
    const target = s.target(credentials(s.zulip, users.map((u) => u.email), (e) => (e === 'cy@corp.example' ? s.zulip.keyOf('ana@corp.example') : s.zulip.keyOf(e))));
    await target.open(signal());
    s.zulip.setFaults({ errorEvery: 3 });
    s.zulip.limitNext('bo@corp.example', 1, 0.01);
    const messages: string[] = [];
    for (const u of users) await importRow(target, u.email, await avatar(1)).catch((e: Error) => messages.push(e.message));
    s.zulip.regenerateKey('ana@corp.example');
    await importRow(target, 'ana@corp.example', await avatar(2)).catch((e: Error) => messages.push(e.message));
    expect(messages.length).toBeGreaterThan(0);
    const secrets = [s.zulip.admin.apiKey, ...users.map((u) => u.apiKey), s.zulip.keyOf('ana@corp.example')];
    for (const text of [...s.lines, ...messages]) for (const secret of secrets) expect(text).not.toContain(secret);
    for (const r of s.zulip.server.requests) for (const secret of secrets) expect(r.search).not.toContain(secret);
  });
});
