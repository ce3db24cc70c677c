import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FakeAuthgear } from '../../testkit/servers/authgear.js';
import { FakeSynapse } from '../../testkit/servers/synapse.js';
import { FakeZulip } from '../../testkit/servers/zulip.js';
import { lastRun, readLedger, runCli, stateEnv, tempDir, type LedgerRow } from '../support/cli.js';
import { writePeople } from '../support/photos.js';

// An onboarding wave on every remote target: HR sends the full export, and `--only-new` sets only
// the users the ledger has never seen `ok` on that target. Everyone else is `skipped` (not_new)
// and nothing is sent for them, even when their photo changed in the export.

const outcomes = (lines: LedgerRow[]) =>
  Object.fromEntries(lines.map((line) => [line.user, `${line.status}${line.reason ? `/${line.reason}` : ''}`]));

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

describe('onboarding: --only-new on the remote targets', () => {
  test('matrix: the new hires get an avatar; the users done before keep theirs although their photo changed', async () => {
    const synapse = await FakeSynapse.start();
    close = () => synapse.close();
    for (const name of ['ana', 'bo', 'cy', 'di']) synapse.addUser(name);
    const dir = await tempDir();
    const ledger = join(dir, 'hr.ledger.jsonl');
    const env = { MATRIX_ACCESS_TOKEN: synapse.adminToken };
    const common = ['--target', 'matrix', '--homeserver', synapse.url, '--ledger', ledger, '--progress', 'off'];
    const people = (names: string[], seed: number) =>
      writePeople(dir, names.map((name, i) => ({ id: `@${name}:example.org`, image: `photos/${name}-${seed}.jpg`, seed: seed + i })));
    expect((await runCli([await people(['ana', 'bo'], 1), ...common], { env })).code).toBe(0);
    const before = { ana: synapse.avatarOf('@ana:example.org'), bo: synapse.avatarOf('@bo:example.org') };
    const uploads = synapse.uploads.length;

    // The full export a month later: everyone with a new photo, cy and di for the first time.
    const wave = await runCli([await people(['ana', 'bo', 'cy', 'di'], 30), ...common, '--only-new'], { env });

    expect(wave.code).toBe(0);
    expect(outcomes(lastRun(await readLedger(ledger)))).toEqual({
      '@ana:example.org': 'skipped/not_new', '@bo:example.org': 'skipped/not_new', '@cy:example.org': 'ok', '@di:example.org': 'ok',
    });
    expect(synapse.avatarOf('@ana:example.org')).toBe(before.ana);
    expect(synapse.avatarOf('@bo:example.org')).toBe(before.bo);
    expect(synapse.avatarOf('@cy:example.org')).toMatch(/^mxc:\/\/example\.org\//);
    expect(synapse.uploads.length).toBe(uploads + 2); // cy's and di's, nothing for ana and bo
  });

  test('authgear: only the users without an ok line get a picture; the users done before get no upload', async () => {
    const fake = await FakeAuthgear.start();
    close = () => fake.close();
    const ids = Object.fromEntries(['alice', 'bob', 'carol'].map((name) => [name, fake.addUser({ email: `${name}@acme.example` })]));
    const dir = await tempDir();
    await mkdir(join(dir, 'keys'));
    const keyFile = join(dir, 'keys', `${fake.keyId}.pem`);
    await writeFile(keyFile, fake.privateKeyPem, { mode: 0o600 });
    const ledger = join(dir, 'hr.ledger.jsonl');
    const common = ['--target', 'authgear', '--endpoint', fake.url, '--project-id', fake.projectId, '--admin-key-file', keyFile, '--ledger', ledger, '--progress', 'off'];
    const people = (names: string[], seed: number) =>
      writePeople(dir, names.map((name, i) => ({ id: `${name}@acme.example`, image: `photos/${name}-${seed}.jpg`, seed: seed + i })), 'email,name,photo');
    expect((await runCli([await people(['alice'], 1), ...common])).code).toBe(0);
    const alice = fake.readAttributes(ids.alice!).picture;
    const presigned = fake.server.count('presign');

    const wave = await runCli([await people(['alice', 'bob', 'carol'], 40), ...common, '--only-new']);

    expect(wave.code).toBe(0);
    expect(outcomes(lastRun(await readLedger(ledger)))).toEqual({
      'alice@acme.example': 'skipped/not_new', 'bob@acme.example': 'ok', 'carol@acme.example': 'ok',
    });
    expect(fake.readAttributes(ids.alice!).picture).toBe(alice);
    expect(fake.readAttributes(ids.bob!).picture).toEqual(expect.any(String));
    expect(fake.server.count('presign') - presigned).toBe(2); // one upload each for bob and carol
  });

  test('zulip: a user set before keeps the avatar version the tool left; the new hire gets one', async () => {
    const zulip = await FakeZulip.start();
    close = () => zulip.close();
    for (const email of ['ana@corp.example', 'bo@corp.example']) zulip.addUser(email);
    const dir = await tempDir();
    const keys = join(dir, 'keys.csv');
    await writeFile(keys, ['email,api_key', ...['ana@corp.example', 'bo@corp.example'].map((e) => `${e},${zulip.keyOf(e)}`)].join('\n') + '\n', { mode: 0o600 });
    const rc = join(dir, 'admin.zuliprc');
    await writeFile(rc, `[api]\nemail=${zulip.admin.email}\nkey=${zulip.admin.apiKey}\nsite=${zulip.url}\n`, { mode: 0o600 });
    const ledger = join(dir, 'hr.ledger.jsonl');
    const env = { ZULIP_EMAIL: '', ZULIP_API_KEY: '', ZULIP_SITE: '', XDG_CONFIG_HOME: join(dir, 'config'), ...stateEnv(dir) };
    const common = ['--target', 'zulip', '--admin-zuliprc', rc, '--credentials', keys, '--ledger', ledger, '--progress', 'off'];
    const people = (emails: string[], seed: number) =>
      writePeople(dir, emails.map((email, i) => ({ id: email, image: `photos/${i}-${seed}.jpg`, seed: seed + i })), 'email,name,photo');
    expect((await runCli([await people(['ana@corp.example'], 1), ...common], { env })).code).toBe(0);
    const version = zulip.byEmail('ana@corp.example')!.avatarVersion;

    const wave = await runCli([await people(['ana@corp.example', 'bo@corp.example'], 50), ...common, '--only-new'], { env });

    expect(wave.code).toBe(0);
    expect(outcomes(lastRun(await readLedger(ledger)))).toEqual({ 'ana@corp.example': 'skipped/not_new', 'bo@corp.example': 'ok' });
    expect(zulip.byEmail('ana@corp.example')!.avatarVersion).toBe(version);
    expect(zulip.byEmail('bo@corp.example')!.avatarSource).toBe('U');
  });
});
