// Rollback and removal on Zulip (issue 13): an uploaded avatar cannot be set again by reference,
// so the target keeps the image it replaces (beside the ledger, in backup/) and uploads it again;
// a default avatar (Gravatar, Jdenticon) is set again with DELETE /users/me/avatar as the user.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { basicEmail } from '../../../testkit/servers/zulip.js';
import { tempDir } from '../../support/cli.js';
import { avatar, credentials, setup, signal, type Setup } from './helpers.js';
import type { ZulipTarget } from '../../../src/targets/zulip/target.js';

let s: Setup;
afterEach(async () => {
  await s.zulip.close();
  expect(s.zulip.server.errors).toEqual([]);
});

/** A target for `s` with a backup folder of its own, opened. */
async function opened(emails: string[]): Promise<{ target: ZulipTarget; backups: string }> {
  const target = s.target(credentials(s.zulip, emails));
  const backups = join(await tempDir(), 'backup');
  target.features.keepBackupsIn!(backups);
  await target.open(signal());
  return { target, backups };
}

const routesOf = (email: string) => s.zulip.server.requests.filter((r) => basicEmail(r.headers.authorization) === email).map((r) => r.route);

describe('zulip target: keeping the replaced avatar', () => {
  test('an uploaded avatar is downloaded (500 px rendition, no credentials sent) and kept as backup/<sha256>.png before the upload', async () => {
    s = await setup();
    const ana = s.zulip.addUser('ana@corp.example');
    s.zulip.userChangesAvatar(ana.email, (await avatar(7)).jpeg);
    const served = (await s.zulip.avatarImage(ana.email, 'medium'))!;
    const { target, backups } = await opened([ana.email]);

    const applied = await target.apply(await target.resolve(ana.email, undefined), await avatar(1));

    expect(applied.previous).toMatch(/^backup\/[0-9a-f]{64}\.png$/);
    expect(applied.replaced).toBe('2');
    const kept = await readFile(join(backups, applied.previous!.slice('backup/'.length)));
    expect(kept.equals(served)).toBe(true);
    const download = s.zulip.server.requests.find((r) => r.route === 'user_avatars')!;
    expect(download.path).toMatch(/-medium\.png$/);
    expect(download.headers.authorization).toBeUndefined();
    // Kept before the upload: the download comes first.
    expect(s.zulip.server.requests.map((r) => r.route).filter((r) => r === 'user_avatars' || r === 'avatar_upload')).toEqual(['user_avatars', 'avatar_upload']);
    expect((await stat(join(backups, applied.previous!.slice('backup/'.length)))).mode & 0o777).toBe(0o600);
  });

  test('with the S3 backend (absolute avatar URLs on the bucket\'s host) the kept image comes from the bucket, and restore puts it back', async () => {
    s = await setup({ avatarStorage: 's3' });
    const ana = s.zulip.addUser('ana@corp.example');
    s.zulip.userChangesAvatar(ana.email, (await avatar(9)).jpeg);
    const served = (await s.zulip.avatarImage(ana.email, 'medium'))!;
    const { target } = await opened([ana.email]);

    const applied = await target.apply(await target.resolve(ana.email, undefined), await avatar(1));

    const download = s.zulip.server.requests.find((r) => r.route === 's3_avatars')!;
    expect(download.path).toMatch(/^\/s3-avatars\/2\/[0-9a-f]{40}-medium\.png$/);
    expect(download.headers.authorization).toBeUndefined();
    await target.features.restore!(await target.resolve(ana.email, undefined), applied.previous!);
    expect(s.zulip.uploads.at(-1)!.bytes.equals(served)).toBe(true);
  });

  test('a default avatar (Gravatar) is recorded as `default`: nothing downloaded, nothing kept', async () => {
    s = await setup();
    const bo = s.zulip.addUser('bo@corp.example');
    const { target, backups } = await opened([bo.email]);
    const applied = await target.apply(await target.resolve(bo.email, undefined), await avatar(1));
    expect(applied.previous).toBe('default');
    expect(applied.replaced).toBeUndefined();
    expect(s.zulip.server.count('user_avatars')).toBe(0);
    expect(await readdir(backups).catch(() => [])).toEqual([]);
  });

  test('an avatar that cannot be downloaded fails the row as backup_failed, and nothing is uploaded', async () => {
    s = await setup();
    const cy = s.zulip.addUser('cy@corp.example');
    // A file gone from the server: version 9 was never stored.
    cy.avatarVersion = 9;
    cy.avatarSource = 'U';
    const { target } = await opened([cy.email]);
    const account = await target.resolve(cy.email, undefined);
    await expect(target.apply(account, await avatar(1))).rejects.toMatchObject({ code: 'backup_failed' });
    expect(s.zulip.uploads).toHaveLength(0);
  });
});

describe('zulip target: restore and remove', () => {
  test('restore uploads the kept image again as the user (avatar.png, image/png) and records the new avatar_version', async () => {
    s = await setup();
    const ana = s.zulip.addUser('ana@corp.example');
    s.zulip.userChangesAvatar(ana.email, (await avatar(7)).jpeg);
    const before = (await s.zulip.avatarImage(ana.email, 'medium'))!;
    const { target } = await opened([ana.email]);
    const first = await target.apply(await target.resolve(ana.email, undefined), await avatar(1));

    const restored = await target.features.restore!(await target.resolve(ana.email, undefined), first.previous!);

    const upload = s.zulip.uploads.at(-1)!;
    expect(upload).toMatchObject({ filename: 'avatar.png', contentType: 'image/png', userId: ana.userId, authEmail: ana.email });
    expect(upload.bytes.equals(before)).toBe(true);
    expect(restored.remote).toBe(String(ana.avatarVersion));
    // What it replaced (the tool's own upload) is kept in turn: the rollback can be rolled back.
    expect(restored.previous).toMatch(/^backup\/[0-9a-f]{64}\.png$/);
    expect(restored.previous).not.toBe(first.previous);
  });

  test('restore of `default` is DELETE /users/me/avatar as the user: back to the Gravatar, avatar_version + 1', async () => {
    s = await setup();
    const bo = s.zulip.addUser('bo@corp.example');
    const { target } = await opened([bo.email]);
    await target.apply(await target.resolve(bo.email, undefined), await avatar(1));
    const version = bo.avatarVersion;

    const restored = await target.features.restore!(await target.resolve(bo.email, undefined), 'default');

    expect(restored.remote).toBe('');
    expect(bo.avatarSource).toBe('G');
    expect(bo.avatarVersion).toBe(version + 1);
    expect(s.zulip.avatarDeletes).toEqual([bo.userId]);
    expect(routesOf(bo.email).at(-1)).toBe('avatar_delete');
    // The next resolve sees the default: nothing of the tool's is there any more.
    expect((await target.resolve(bo.email, undefined)).current).toBeUndefined();
  });

  test('remove is idempotent: a user already on the default is sent nothing', async () => {
    s = await setup();
    const bo = s.zulip.addUser('bo@corp.example');
    const { target } = await opened([bo.email]);
    const removed = await target.features.remove!(await target.resolve(bo.email, undefined));
    expect(removed.previous).toBe('default');
    expect(s.zulip.avatarDeletes).toEqual([]);
    expect(bo.avatarVersion).toBe(1);
  });

  test('on Zulip 12 with Jdenticon defaults, DELETE leaves a Jdenticon, which resolve reports as no avatar of the user\'s', async () => {
    s = await setup({ version: '12.0', featureLevel: 466, defaultAvatarSource: 'J' });
    const di = s.zulip.addUser('di@corp.example');
    const { target } = await opened([di.email]);
    await target.apply(await target.resolve(di.email, undefined), await avatar(1));
    const removed = await target.features.remove!(await target.resolve(di.email, undefined));
    expect(removed.previous).toMatch(/^backup\//);
    expect(di.avatarSource).toBe('J');
  });

  test('a `previous` that was never kept (a ledger from before backups) fails as no_backup, and nothing is sent', async () => {
    s = await setup();
    const ana = s.zulip.addUser('ana@corp.example', { avatarSource: 'U' });
    const { target } = await opened([ana.email]);
    const sent = s.zulip.server.requests.length;
    await expect(target.features.restore!(await target.resolve(ana.email, undefined), `${s.zulip.url}/user_avatars/2/${'a'.repeat(40)}.png`)).rejects.toMatchObject({ code: 'no_backup' });
    await expect(target.features.restore!(await target.resolve(ana.email, undefined), `backup/${'b'.repeat(64)}.png`)).rejects.toMatchObject({ code: 'no_backup' });
    expect(s.zulip.server.requests.length).toBe(sent);
  });

  test('in an organisation that restricts avatar changes, DELETE is refused as avatar_changes_disabled', async () => {
    s = await setup();
    const bo = s.zulip.addUser('bo@corp.example');
    const { target } = await opened([bo.email]);
    await target.apply(await target.resolve(bo.email, undefined), await avatar(1));
    s.zulip.realmAvatarChangesDisabled = true;
    await expect(target.features.remove!(await target.resolve(bo.email, undefined))).rejects.toMatchObject({ code: 'avatar_changes_disabled' });
  });
});
