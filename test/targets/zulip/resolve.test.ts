// Finding the row's user: everything comes from the one bulk GET /users made at start-up, matched
// on delivery_email without regard to case; the rows the tool must not touch fail with stable codes.
import { credentials, importRow, avatar, setup, signal, type Setup } from './helpers.js';

let s: Setup;
afterEach(async () => {
  await s.zulip.close();
  expect(s.zulip.server.errors).toEqual([]);
});

describe('zulip target: resolve()', () => {
  test('matches on delivery_email, case-insensitively, when the organisation shows only dummy emails', async () => {
    s = await setup();
    const ana = s.zulip.addUser('Ana.Lima@Corp.Example', { avatarVersion: 7, avatarSource: 'U' });
    const target = s.target(credentials(s.zulip, [ana.email]));
    await target.open(signal());
    const requests = s.zulip.server.requests.length;

    const account = await target.resolve('ana.lima@corp.example', undefined);

    expect(account).toMatchObject({ user: 'ana.lima@corp.example', id: String(ana.userId), current: '7' });
    expect(s.zulip.server.requests.length).toBe(requests); // no per-row lookup
    expect(target.features.canonical!('  ANA.Lima@corp.example ')).toBe('ana.lima@corp.example');
    await target.close();
  });

  test.each([
    ['before 12.0: a Gravatar is the default', {}, { avatarSource: 'G' as const, avatarVersion: 4 }, undefined],
    ['before 12.0: an upload is the user\'s own', {}, { avatarSource: 'U' as const, avatarVersion: 4 }, '4'],
    ['12.0, Jdenticon organisation: a Jdenticon never changed is the default', { featureLevel: 466, defaultAvatarSource: 'J' as const }, { avatarSource: 'J' as const, avatarVersion: 1 }, undefined],
    ['12.0, Jdenticon organisation: an upload is the user\'s own', { featureLevel: 466, defaultAvatarSource: 'J' as const }, { avatarSource: 'U' as const, avatarVersion: 2 }, '2'],
    ['12.0, Gravatar organisation: a Gravatar is the default', { featureLevel: 466, defaultAvatarSource: 'G' as const }, { avatarSource: 'G' as const, avatarVersion: 1 }, undefined],
  ])('%s: current is %s', async (_name, realm, user, current) => {
    s = await setup(realm);
    const ana = s.zulip.addUser('ana@corp.example', user);
    const target = s.target(credentials(s.zulip, [ana.email]));
    await target.open(signal());
    // A default avatar is nobody's choice: no `current`, so first contact does not keep it.
    expect((await target.resolve(ana.email, undefined)).current).toBe(current);
    await target.close();
  });

  test('unknown, deactivated, bot and not-an-email rows fail with their codes, and send nothing', async () => {
    s = await setup();
    s.zulip.addUser('cy@corp.example', { isActive: false });
    s.zulip.addUser('notify-bot@corp.example', { isBot: true });
    s.zulip.addUser('hid@corp.example', { emailVisibility: 'nobody' });
    const target = s.target(credentials(s.zulip, ['cy@corp.example', 'notify-bot@corp.example']));
    await target.open(signal());
    const requests = s.zulip.server.requests.length;

    const codes = await Promise.all(['ghost@corp.example', 'cy@corp.example', 'notify-bot@corp.example', 'hid@corp.example', 'not an email'].map((u) =>
      target.resolve(u, undefined).then(() => 'ok', (e: { code: string; message: string }) => `${e.code}`)));

    expect(codes).toEqual(['user_not_found', 'user_deactivated', 'invalid_user_id', 'user_not_found', 'invalid_user_id']);
    const hidden = await target.resolve('hid@corp.example', undefined).catch((e: Error) => e.message);
    expect(hidden).toContain('1 users hide their email even from administrators');
    expect(await target.resolve('notify-bot@corp.example', undefined).catch((e: Error) => e.message)).toContain('is a bot');
    expect(s.zulip.server.requests.length).toBe(requests);
  });

  test('bots are never touched, even with a key for them', async () => {
    s = await setup();
    const bot = s.zulip.addUser('notify-bot@corp.example', { isBot: true });
    const target = s.target(credentials(s.zulip, [bot.email]));
    await target.open(signal());
    await expect(importRow(target, bot.email, await avatar(1))).rejects.toMatchObject({ code: 'invalid_user_id' });
    expect(s.zulip.uploads).toHaveLength(0);
    expect(bot.avatarVersion).toBe(1);
  });

  test('a restricted organisation: non-admins fail with avatar_changes_disabled before any key is used; admins go through', async () => {
    s = await setup({ realmAvatarChangesDisabled: true });
    const bo = s.zulip.addUser('bo@corp.example');
    const mod = s.zulip.addUser('mod@corp.example', { role: 300 });
    const boss = s.zulip.addUser('boss@corp.example', { role: 200 });
    const target = s.target(credentials(s.zulip, [bo.email, mod.email, boss.email]));
    await target.open(signal());
    expect(s.lines.some((l) => l.includes('lets only administrators change avatars'))).toBe(true);

    await expect(target.resolve(bo.email, undefined)).rejects.toMatchObject({ code: 'avatar_changes_disabled', message: expect.stringContaining('LDAP') });
    await expect(target.resolve(mod.email, undefined)).rejects.toMatchObject({ code: 'avatar_changes_disabled' });
    await importRow(target, boss.email, await avatar(1));

    expect(s.zulip.uploads.map((u) => u.userId)).toEqual([boss.userId]);
    expect(s.zulip.requestsBy(bo.email)).toBe(0);
    expect(s.zulip.requestsBy(mod.email)).toBe(0);
  });

  test('the server-wide AVATAR_CHANGES_DISABLED counts too', async () => {
    s = await setup({ serverAvatarChangesDisabled: true });
    const bo = s.zulip.addUser('bo@corp.example');
    const target = s.target(credentials(s.zulip, [bo.email]));
    await target.open(signal());
    await expect(target.resolve(bo.email, undefined)).rejects.toMatchObject({ code: 'avatar_changes_disabled' });
  });

  test('a row the tool set and that is unchanged may be skipped: no key or restriction check until an upload is due', async () => {
    s = await setup({ realmAvatarChangesDisabled: true });
    const ana = s.zulip.addUser('ana@corp.example', { avatarVersion: 3, avatarSource: 'U' });
    const target = s.target(credentials(s.zulip, []));
    await target.open(signal());
    const prior = (remote: string) => ({ outputSha256: 'ab', bytes: 10, remote });

    const account = await target.resolve(ana.email, prior('3'));
    expect(account.current).toBe('3');
    await expect(target.apply(account, await avatar(1))).rejects.toMatchObject({ code: 'avatar_changes_disabled' });
    // Changed by the user since: the pipeline skips it (changed_by_user) unless told to overwrite.
    expect((await target.resolve(ana.email, prior('2'))).current).toBe('3');
    await expect(target.resolve(ana.email, undefined)).rejects.toMatchObject({ code: 'avatar_changes_disabled' });
    expect(s.zulip.requestsBy(ana.email)).toBe(0);
  });

  test('a user without a key in --credentials fails at resolve (no image work, nothing sent)', async () => {
    s = await setup();
    s.zulip.addUser('ana@corp.example');
    const target = s.target(credentials(s.zulip, []));
    await target.open(signal());
    await expect(target.resolve('ana@corp.example', undefined)).rejects.toMatchObject({ code: 'credentials_invalid', message: '--credentials has no API key for ana@corp.example' });
  });
});
