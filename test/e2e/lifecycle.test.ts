import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dirLedger, lastRun, readLedger, runCli, tempDir } from '../support/cli.js';
import { writePeople } from '../support/photos.js';
import type { Person } from '../support/photos.js';
import { FakeAuthgear } from '../../testkit/servers/authgear.js';
import { FakeSynapse } from '../../testkit/servers/synapse.js';

// An import is one event in a longer life: new hires arrive in waves from the full HR export,
// people leave, a bad batch is undone.

const person = (i: number, seed = i): Person => ({ id: `user${i}`, image: `photos/p${i}-${seed}.jpg`, seed });

describe('onboarding: --only-new', () => {
  test('a wave from the full export sets only the users the ledger has never seen ok; the others are not_new, untouched', async () => {
    const dir = await tempDir();
    const out = join(dir, 'avatars');
    const args = (csv: string) => [csv, '--out', out, '--progress', 'off'];
    // The first wave: user0 and user1 done, user2's photo missing (failed, so never done).
    const first = await writePeople(dir, [person(0), person(1), { id: 'user2', image: 'photos/missing.jpg' }]);
    expect((await runCli(args(first))).code).toBe(1);
    const before = await readFile(join(out, 'user0.jpg'));

    // The full export a month later: user0 has a new photo, user2's is there now, user3 is new.
    const full = await writePeople(dir, [person(0, 50), person(1), person(2), person(3)]);
    const wave = await runCli([...args(full), '--only-new']);

    expect(wave.code).toBe(0);
    const lines = lastRun(await readLedger(dirLedger(join(dir, 'avatars'))));
    const outcome = Object.fromEntries(lines.map((line) => [line.user, `${line.status}${line.reason ? `/${line.reason}` : ''}`]));
    expect(outcome).toEqual({ user0: 'skipped/not_new', user1: 'skipped/not_new', user2: 'ok', user3: 'ok' });
    // user0's new photo waits for a run without --only-new.
    expect(await readFile(join(out, 'user0.jpg'))).toEqual(before);

    // The next ordinary run sees user0's change, as if --only-new had never happened.
    await runCli(args(full));
    const next = lastRun(await readLedger(dirLedger(join(dir, 'avatars'))));
    expect(next.find((line) => line.user === 'user0')!.status).toBe('ok');
    expect(next.filter((line) => line.user !== 'user0').every((line) => line.status === 'skipped')).toBe(true);
  });
});

describe('rollback (dir)', () => {
  /** Import A (user0, user1), import B (new photos for both, user2 for the first time). */
  async function twoImports() {
    const dir = await tempDir();
    const out = join(dir, 'avatars');
    const ledger = join(dir, 'hr.ledger.jsonl');
    const args = (csv: string) => [csv, '--out', out, '--ledger', ledger, '--progress', 'off'];
    expect((await runCli(args(await writePeople(dir, [person(0), person(1)])))).code).toBe(0);
    const a = { user0: await readFile(join(out, 'user0.jpg')), user1: await readFile(join(out, 'user1.jpg')) };
    expect((await runCli(args(await writePeople(dir, [person(0, 10), person(1, 11), person(2, 12)])))).code).toBe(0);
    const runB = (await readLedger(ledger)).filter((line) => line.type === 'run').at(-1)!.run as string;
    return { dir, out, ledger, a, runB };
  }
  const outcomes = (lines: { user?: string; status?: string; reason?: string }[]) =>
    Object.fromEntries(lines.map((line) => [line.user, `${line.status}${line.reason ? `/${line.reason}` : ''}`]));

  test('restores what run B replaced byte for byte, removes the file B created, and leaves a user changed since alone', async () => {
    const { out, ledger, a, runB } = await twoImports();
    // user1's file is replaced by hand after B: not B's any more.
    const byHand = await readFile(join(out, 'user0.jpg'));
    await import('node:fs/promises').then((fs) => fs.writeFile(join(out, 'user1.jpg'), Buffer.concat([byHand, Buffer.from('x')])));

    const dry = await runCli(['rollback', '--run', runB, '--ledger', ledger, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('would restore');
    expect(await readFile(join(out, 'user0.jpg'))).toEqual(byHand);

    const result = await runCli(['rollback', '--run', runB, '--ledger', ledger]);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('3 users changed by it; 2 restored, 1 skipped, 0 failed');
    expect(await readFile(join(out, 'user0.jpg'))).toEqual(a.user0);
    expect(existsSync(join(out, 'user2.jpg'))).toBe(false);
    expect(outcomes(lastRun(await readLedger(ledger)))).toEqual({ user0: 'ok/rollback', user1: 'skipped/changed_since_run', user2: 'ok/rollback' });

    // Run again (as after a crash): nothing left to do.
    const again = await runCli(['rollback', '--run', runB, '--ledger', ledger]);
    expect(again.code).toBe(0);
    expect(outcomes(lastRun(await readLedger(ledger)))).toEqual({ user0: 'skipped/rolled_back', user1: 'skipped/changed_since_run', user2: 'skipped/rolled_back' });

    // --force restores user1 too.
    const forced = await runCli(['rollback', '--run', runB, '--ledger', ledger, '--user', 'user1', '--force']);
    expect(forced.code).toBe(0);
    expect(await readFile(join(out, 'user1.jpg'))).toEqual(a.user1);
  });

  test('a rollback can itself be rolled back, and rollback works after ledger compact', async () => {
    const { dir, out, ledger, a, runB } = await twoImports();
    const b = await readFile(join(out, 'user0.jpg'));
    expect((await runCli(['ledger', 'compact', '--ledger', ledger, '--keep-runs', '2'])).code).toBe(0);

    expect((await runCli(['rollback', '--run', runB, '--ledger', ledger])).code).toBe(0);
    expect(await readFile(join(out, 'user0.jpg'))).toEqual(a.user0);
    // The next import of A's CSV finds nothing to do: the ledger says A's avatars are back.
    const rollbackRun = (await readLedger(ledger)).filter((line) => line.type === 'run').at(-1)!.run as string;

    expect((await runCli(['rollback', '--run', rollbackRun, '--ledger', ledger])).code).toBe(0);
    expect(await readFile(join(out, 'user0.jpg'))).toEqual(b);
    expect(existsSync(join(out, 'user2.jpg'))).toBe(true);
    void dir;
  });

  test('a rollback killed between its writes and their lines is recognised when run again (intent lines): recorded as recovered, nothing redone', async () => {
    const { out, ledger, a, runB } = await twoImports();
    expect((await runCli(['rollback', '--run', runB, '--ledger', ledger])).code).toBe(0);
    const rollbackRun = (await readLedger(ledger)).filter((line) => line.type === 'run').at(-1)!.run as string;
    const lines = (await readFile(ledger, 'utf8')).split('\n').filter(Boolean);
    expect(lines.filter((l) => JSON.parse(l).type === 'intent' && JSON.parse(l).run === rollbackRun)).toHaveLength(3);
    await writeFile(ledger, lines.filter((l) => !(JSON.parse(l).run === rollbackRun && ['row', 'end'].includes(JSON.parse(l).type))).join('\n') + '\n');

    const again = await runCli(['rollback', '--run', runB, '--ledger', ledger]);

    expect(again.code).toBe(0);
    expect(outcomes(lastRun(await readLedger(ledger)))).toEqual({ user0: 'ok/recovered', user1: 'ok/recovered', user2: 'ok/recovered' });
    expect(await readFile(join(out, 'user0.jpg'))).toEqual(a.user0);
    expect(existsSync(join(out, 'user2.jpg'))).toBe(false);
    // Run once more: every user restored, nothing left to do.
    expect((await runCli(['rollback', '--run', runB, '--ledger', ledger])).stdout).toContain('0 restored, 3 skipped');
  });

  test('an unknown run is a usage error, before anything is touched', async () => {
    const { ledger } = await twoImports();
    const result = await runCli(['rollback', '--run', 'nope', '--ledger', ledger]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('has no run nope');
  });
});

describe('rollback (matrix, authgear): the same mxc / picture as before run B', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => close?.());

  test('matrix: previous mxc set again, a first avatar cleared, a user who changed theirs since left alone', async () => {
    const synapse = await FakeSynapse.start();
    close = () => synapse.close();
    synapse.addUser('ana', { avatar_url: 'mxc://example.org/before' });
    for (const name of ['bo', 'cy']) synapse.addUser(name);
    const dir = await tempDir();
    const ledger = join(dir, 'hr.ledger.jsonl');
    const env = { MATRIX_ACCESS_TOKEN: synapse.adminToken };
    const common = ['--target', 'matrix', '--homeserver', synapse.url, '--ledger', ledger, '--progress', 'off'];
    const people = (names: string[], seed: number) =>
      writePeople(dir, names.map((name, i) => ({ id: `@${name}:example.org`, image: `photos/${name}-${seed}.jpg`, seed: seed + i })));
    // Ana's avatar was there before the tool: run A replaces it only because it is told to.
    expect((await runCli([await people(['ana', 'bo'], 1), ...common, '--replace-existing'], { env })).code).toBe(0);
    const a = { ana: synapse.avatarOf('@ana:example.org'), bo: synapse.avatarOf('@bo:example.org') };
    expect((await runCli([await people(['ana', 'bo', 'cy'], 20), ...common], { env })).code).toBe(0);
    const runB = (await readLedger(ledger)).filter((line) => line.type === 'run').at(-1)!.run as string;
    expect(synapse.avatarOf('@ana:example.org')).not.toBe(a.ana);
    // Bo sets his own avatar after B.
    const bo = synapse.login('@bo:example.org');
    await fetch(`${synapse.url}/_matrix/client/v3/profile/${encodeURIComponent('@bo:example.org')}/avatar_url`, {
      method: 'PUT', headers: { authorization: `Bearer ${bo}`, 'content-type': 'application/json' }, body: JSON.stringify({ avatar_url: 'mxc://example.org/bosOwn' }),
    });

    // Where the server is comes from the ledger; the token from the environment, as for an import.
    const result = await runCli(['rollback', '--run', runB, '--ledger', ledger], { env });

    expect(result.code).toBe(0);
    expect(synapse.avatarOf('@ana:example.org')).toBe(a.ana);
    expect(synapse.avatarOf('@bo:example.org')).toBe('mxc://example.org/bosOwn');
    expect(synapse.avatarOf('@cy:example.org') ?? null).toBeNull();
    expect(Object.fromEntries(lastRun(await readLedger(ledger)).map((l) => [l.user, l.reason]))).toEqual({
      '@ana:example.org': 'rollback', '@bo:example.org': 'changed_since_run', '@cy:example.org': 'rollback',
    });
    expect(result.stderr).not.toContain(synapse.adminToken);
  });

  test('authgear: previous picture set again, a first picture removed with every other attribute kept', async () => {
    const fake = await FakeAuthgear.start();
    close = () => fake.close();
    const alice = fake.addUser({ email: 'alice@acme.example' });
    const bob = fake.addUser({ email: 'bob@acme.example', standard: { given_name: 'Bob', family_name: 'Builder' } });
    const carol = fake.addUser({ email: 'carol@acme.example' });
    const dir = await tempDir();
    await mkdir(join(dir, 'keys'));
    const keyFile = join(dir, 'keys', `${fake.keyId}.pem`);
    await writeFile(keyFile, fake.privateKeyPem, { mode: 0o600 });
    const ledger = join(dir, 'hr.ledger.jsonl');
    const targetArgs = ['--target', 'authgear', '--endpoint', fake.url, '--project-id', fake.projectId, '--admin-key-file', keyFile];
    const people = (names: string[], seed: number) =>
      writePeople(dir, names.map((name, i) => ({ id: `${name}@acme.example`, image: `photos/${name}-${seed}.jpg`, seed: seed + i })), 'email,name,photo');
    expect((await runCli([await people(['alice', 'carol'], 1), ...targetArgs, '--ledger', ledger, '--progress', 'off'])).code).toBe(0);
    const a = fake.readAttributes(alice).picture;
    const bobBefore = fake.readAttributes(bob);
    expect((await runCli([await people(['alice', 'bob', 'carol'], 20), ...targetArgs, '--ledger', ledger, '--progress', 'off'])).code).toBe(0);
    const runB = (await readLedger(ledger)).filter((line) => line.type === 'run').at(-1)!.run as string;
    fake.setAttribute(carol, 'picture', 'https://example.com/carol-chose-this.png');

    const result = await runCli(['rollback', '--run', runB, '--ledger', ledger, ...targetArgs]);

    expect(result.code).toBe(0);
    expect(fake.readAttributes(alice).picture).toBe(a);
    const bobAfter = fake.readAttributes(bob);
    expect(bobAfter.picture).toBeUndefined();
    expect({ ...bobAfter, updated_at: 0 }).toEqual({ ...bobBefore, updated_at: 0 });
    expect(fake.readAttributes(carol).picture).toBe('https://example.com/carol-chose-this.png');
  });
});
