import { mkdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FakeAuthgear } from '../../testkit/servers/authgear.js';
import { FakeSynapse } from '../../testkit/servers/synapse.js';
import { FakeZulip } from '../../testkit/servers/zulip.js';
import { lastRun, readLedger, runCli, tempDir, type LedgerRow } from '../support/cli.js';
import { photo } from '../support/photos.js';

// Issue 11, defect 1: a process killed between the target's change and the row's ledger line
// (kill -9, or a Ctrl-C that aborted a request the server had already applied) must not leave the
// tool's own avatar looking like "the user's choice" for ever. Each case: run once, change the
// photo, run again but lose that run's row line (what a kill at that moment leaves: the run's
// earlier lines, nothing after), run a third time.

/** Cut the ledger where its last row line starts, as a kill just before writing it would. */
async function loseLastRowLine(ledger: string): Promise<void> {
  const text = await readFile(ledger, 'utf8');
  const at = text.lastIndexOf('{"type":"row"');
  expect(at).toBeGreaterThan(0);
  await truncate(ledger, Buffer.byteLength(text.slice(0, at)));
}

/** people.csv with one person whose photo is photos/p.jpg made from `seed`; returns [dir, csv]. */
async function onePerson(header: string, user: string, seed: number, dir?: string): Promise<[string, string]> {
  dir ??= await tempDir('avatar-import-lost-line-');
  await mkdir(join(dir, 'photos'), { recursive: true });
  await writeFile(join(dir, 'photos', 'p.jpg'), await photo(seed, 640, 480));
  await writeFile(join(dir, 'people.csv'), `${header}\n${user},Person,photos/p.jpg\n`);
  return [dir, join(dir, 'people.csv')];
}

const last = async (dir: string): Promise<LedgerRow> => lastRun(await readLedger(join(dir, 'people.ledger.jsonl')))[0]!;

describe('a write whose ledger line a kill lost is the tool\'s own on the next run', () => {
  let synapse: FakeSynapse | undefined;
  let zulip: FakeZulip | undefined;
  let authgear: FakeAuthgear | undefined;
  afterEach(async () => {
    await synapse?.close();
    await zulip?.close();
    await authgear?.close();
    synapse = zulip = authgear = undefined;
  });

  test('matrix: recorded as ok (recovered), not changed_by_user; no upload; the next new photo is set', async () => {
    synapse = await FakeSynapse.start();
    synapse.addUser('ana');
    const [dir, csv] = await onePerson('username,name,photo', 'ana', 1);
    const cli = () => runCli([csv, '--ledger', join(dir, 'people.ledger.jsonl'), '--target', 'matrix', '--homeserver', synapse!.url, '--user-template', '@{username}:example.org', '--progress', 'off'], { env: { MATRIX_ACCESS_TOKEN: synapse!.adminToken } });
    expect((await cli()).code).toBe(0);

    await onePerson('username,name,photo', 'ana', 2, dir);
    expect((await cli()).code).toBe(0);
    const second = synapse.avatarOf('@ana:example.org');
    await loseLastRowLine(join(dir, 'people.ledger.jsonl'));
    const uploads = synapse.uploads.length;

    const third = await cli();
    expect(third.code).toBe(0);
    expect(await last(dir)).toMatchObject({ status: 'ok', reason: 'recovered', remote: second });
    expect(synapse.uploads).toHaveLength(uploads);
    expect(synapse.avatarOf('@ana:example.org')).toBe(second);

    await onePerson('username,name,photo', 'ana', 3, dir);
    expect((await cli()).code).toBe(0);
    expect(await last(dir)).toMatchObject({ status: 'ok' });
    expect(synapse.avatarOf('@ana:example.org')).not.toBe(second);
  });

  test('matrix: an upload that never became the avatar (killed between upload and set) is set, not uploaded again', async () => {
    synapse = await FakeSynapse.start();
    synapse.addUser('ana');
    const [dir, csv] = await onePerson('username,name,photo', 'ana', 1);
    const cli = () => runCli([csv, '--ledger', join(dir, 'people.ledger.jsonl'), '--target', 'matrix', '--homeserver', synapse!.url, '--user-template', '@{username}:example.org', '--progress', 'off'], { env: { MATRIX_ACCESS_TOKEN: synapse!.adminToken } });
    expect((await cli()).code).toBe(0);
    const first = synapse.avatarOf('@ana:example.org')!;

    await onePerson('username,name,photo', 'ana', 2, dir);
    expect((await cli()).code).toBe(0);
    const uploaded = synapse.avatarOf('@ana:example.org');
    await loseLastRowLine(join(dir, 'people.ledger.jsonl'));
    // As if the profile PUT had never been sent: the server still shows the first avatar.
    const token = synapse.login('@ana:example.org');
    await fetch(`${synapse.url}/_matrix/client/v3/profile/${encodeURIComponent('@ana:example.org')}/avatar_url`, {
      method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ avatar_url: first }),
    });
    const uploads = synapse.uploads.length;

    expect((await cli()).code).toBe(0);
    expect(await last(dir)).toMatchObject({ status: 'ok', remote: uploaded });
    expect(synapse.uploads).toHaveLength(uploads);
    expect(synapse.avatarOf('@ana:example.org')).toBe(uploaded);
  });

  test('zulip: the expected avatar_version is recognised; recorded as ok (recovered), nothing uploaded', async () => {
    zulip = await FakeZulip.start();
    zulip.addUser('ana@corp.example');
    const [dir, csv] = await onePerson('email,name,photo', 'ana@corp.example', 1);
    const rcs = join(dir, 'rcs');
    await mkdir(rcs);
    await writeFile(join(rcs, 'ana@corp.example.zuliprc'), `[api]\nemail=ana@corp.example\nkey=${zulip.keyOf('ana@corp.example')}\nsite=${zulip.url}\n`, { mode: 0o600 });
    const cli = () => runCli([csv, '--ledger', join(dir, 'people.ledger.jsonl'), '--target', 'zulip', '--progress', 'off', '--site', zulip!.url, '--credentials', rcs], {
      env: { ZULIP_EMAIL: zulip!.admin.email, ZULIP_API_KEY: zulip!.admin.apiKey, ZULIP_SITE: '', XDG_CONFIG_HOME: join(dir, 'config') },
    });
    expect((await cli()).code).toBe(0);

    await onePerson('email,name,photo', 'ana@corp.example', 2, dir);
    expect((await cli()).code).toBe(0);
    const version = zulip.byEmail('ana@corp.example')!.avatarVersion;
    await loseLastRowLine(join(dir, 'people.ledger.jsonl'));
    const uploads = zulip.uploads.length;

    expect((await cli()).code).toBe(0);
    expect(await last(dir)).toMatchObject({ status: 'ok', reason: 'recovered', remote: String(version) });
    expect(zulip.uploads).toHaveLength(uploads);

    // The user's own change after that is still theirs.
    zulip.userChangesAvatar('ana@corp.example');
    expect((await cli()).code).toBe(0);
    expect(await last(dir)).toMatchObject({ status: 'skipped', reason: 'changed_by_user' });
  });

  test('authgear: the picture URL is recognised in the form the lookup reports; recorded as ok (recovered), nothing written', async () => {
    authgear = await FakeAuthgear.start();
    const ana = authgear.addUser({ email: 'ana@acme.example' });
    const [dir, csv] = await onePerson('email,name,photo', 'ana@acme.example', 1);
    await mkdir(join(dir, 'keys'));
    const keyFile = join(dir, 'keys', `${authgear.keyId}.pem`);
    await writeFile(keyFile, authgear.privateKeyPem, { mode: 0o600 });
    const cli = () => runCli([csv, '--ledger', join(dir, 'people.ledger.jsonl'), '--target', 'authgear', '--endpoint', authgear!.url, '--project-id', authgear!.projectId, '--admin-key-file', keyFile, '--progress', 'off']);
    expect((await cli()).code).toBe(0);

    await onePerson('email,name,photo', 'ana@acme.example', 2, dir);
    expect((await cli()).code).toBe(0);
    await loseLastRowLine(join(dir, 'people.ledger.jsonl'));
    const updates = authgear.updates.length;
    const presigned = authgear.presigned.length;

    expect((await cli()).code).toBe(0);
    const line = await last(dir);
    expect(line).toMatchObject({ status: 'ok', reason: 'recovered' });
    expect(line.remote).toBe(authgear.readAttributes(ana).picture);
    expect(authgear.updates).toHaveLength(updates);
    expect(authgear.presigned).toHaveLength(presigned);
  });

  test('dir: the file is known by its content as the tool\'s own write; recorded as ok (recovered), not rewritten', async () => {
    const [dir, csv] = await onePerson('user_id,name,photo', 'ana', 1);
    const out = join(dir, 'out');
    const cli = () => runCli([csv, '--ledger', join(dir, 'people.ledger.jsonl'), '--out', out, '--progress', 'off']);
    expect((await cli()).code).toBe(0);
    await onePerson('user_id,name,photo', 'ana', 2, dir);
    expect((await cli()).code).toBe(0);
    const written = await readFile(join(out, 'ana.jpg'));
    await loseLastRowLine(join(dir, 'people.ledger.jsonl'));

    expect((await cli()).code).toBe(0);
    expect(await last(dir)).toMatchObject({ status: 'ok', reason: 'recovered' });
    expect(await readFile(join(out, 'ana.jpg'))).toEqual(written);
  });
});
