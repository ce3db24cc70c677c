import { existsSync } from 'node:fs';
import { mkdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { collect, lastRun, readLedger, remoteLedger, runCli, startCli, stateEnv, tempDir, type LedgerRow } from '../support/cli.js';
import { photo, writePeople } from '../support/photos.js';
import type { Person } from '../support/photos.js';
import { FakeAuthgear } from '../../testkit/servers/authgear.js';
import { FakeSynapse } from '../../testkit/servers/synapse.js';
import { FakeZulip } from '../../testkit/servers/zulip.js';

// Leavers (issue 13): `--remove-missing` takes away the avatar the tool set for users no longer
// in the export, restoring what they had before the tool where there was something, never an
// avatar someone changed since; a cap (`--max-removals`) and the refusals keep a partial export
// from looking like mass leaving.

const person = (i: number, seed = i): Person => ({ id: `user${i}`, image: `photos/p${i}-${seed}.jpg`, seed });
const outcomes = (lines: LedgerRow[]) => Object.fromEntries(lines.map((line) => [line.user, `${line.status}${line.reason ? `/${line.reason}` : ''}`]));
/** A photo per person, whatever CSV they are in. */
const seedOf = (name: string): number => [...name].reduce((sum, c) => sum + c.charCodeAt(0), 0) % 200;
const runs = async (ledger: string) => (await readLedger(ledger)).filter((line) => line.type === 'run').map((line) => line.run as string);

describe('leavers on dir', () => {
  /** user0..user3 imported; user2 had a file of their own before (replaced with --replace-existing),
   * user3's photo was updated once (the tool's file over the tool's file). */
  async function imported() {
    const dir = await tempDir();
    const out = join(dir, 'avatars');
    const ledger = join(dir, 'hr.ledger.jsonl');
    const args = (csv: string, ...more: string[]) => [csv, '--out', out, '--ledger', ledger, '--progress', 'off', ...more];
    await mkdir(out, { recursive: true });
    const own = await photo(77, 200, 200);
    await writeFile(join(out, 'user2.jpg'), own);
    expect((await runCli(args(await writePeople(dir, [0, 1, 2, 3].map((i) => person(i))), '--replace-existing'))).code).toBe(0);
    expect((await runCli(args(await writePeople(dir, [person(0), person(1), person(2), person(3, 30)])))).code).toBe(0);
    const files = Object.fromEntries(await Promise.all([0, 1, 2, 3].map(async (i) => [`user${i}`, await readFile(join(out, `user${i}.jpg`))] as const)));
    return { dir, out, ledger, args, own, files };
  }

  test('users not in the CSV: a file that replaced one is restored byte for byte, one that replaced nothing is deleted; a second run removes nothing; rollback brings them back', async () => {
    const { dir, out, ledger, args, own, files } = await imported();
    const twoLeft = await writePeople(dir, [person(0), person(1)]);

    const result = await runCli(args(twoLeft, '--remove-missing'));

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('2 rows in');
    expect(result.stdout).toContain('not in the CSV: 2 removed');
    expect(result.stderr).toContain('user2 (not in the CSV): removed: the avatar they had before set again');
    expect(result.stderr).toContain('user3 (not in the CSV): removed: avatar cleared');
    expect(await readFile(join(out, 'user2.jpg'))).toEqual(own);
    // user3's photo was replaced once by the tool: the older tool photo is not "what they had".
    expect(existsSync(join(out, 'user3.jpg'))).toBe(false);
    expect(await readFile(join(out, 'user0.jpg'))).toEqual(files.user0);
    const lines = lastRun(await readLedger(ledger));
    expect(outcomes(lines)).toEqual({ user0: 'skipped', user1: 'skipped', user2: 'removed', user3: 'removed' });
    const removed = lines.find((line) => line.user === 'user3')!;
    expect(removed).toMatchObject({ row: 0, remote: '' });
    expect(removed).not.toHaveProperty('outputSha256');
    expect((await readLedger(ledger)).at(-1)).toMatchObject({ type: 'end', exit: 0, counts: { ok: 0, skipped: 2, failed: 0, removed: 2 } });

    const again = await runCli(args(twoLeft, '--remove-missing', '--json'));
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ status: { ok: 0, skipped: 2, failed: 0, removed: 0 } });
    expect(outcomes(lastRun(await readLedger(ledger)))).toEqual({ user0: 'skipped', user1: 'skipped' });

    // Undoing the removal run sets the tool's avatars again, and the next full import skips them.
    const removalRun = (await runs(ledger)).at(-2)!;
    expect((await runCli(['rollback', '--run', removalRun, '--ledger', ledger])).code).toBe(0);
    expect(await readFile(join(out, 'user2.jpg'))).toEqual(files.user2);
    expect(await readFile(join(out, 'user3.jpg'))).toEqual(files.user3);
    const full = await runCli(args(await writePeople(dir, [person(0), person(1), person(2), person(3, 30)])));
    expect(full.code).toBe(0);
    expect(outcomes(lastRun(await readLedger(ledger)))).toEqual({ user0: 'skipped', user1: 'skipped', user2: 'skipped', user3: 'skipped' });
  });

  test('a leaver who comes back is imported again as new', async () => {
    const { dir, out, ledger, args } = await imported();
    expect((await runCli(args(await writePeople(dir, [person(0), person(1), person(2)]), '--remove-missing'))).code).toBe(0);
    expect(existsSync(join(out, 'user3.jpg'))).toBe(false);

    const back = await runCli(args(await writePeople(dir, [person(0), person(1), person(2), person(3, 31)]), '--remove-missing'));

    expect(back.code).toBe(0);
    expect(outcomes(lastRun(await readLedger(ledger)))).toMatchObject({ user3: 'ok' });
    expect(existsSync(join(out, 'user3.jpg'))).toBe(true);
  });

  test('a file changed since the tool wrote it is left alone (changed_by_user), and not asked about again', async () => {
    const { dir, out, ledger, args } = await imported();
    const byHand = Buffer.concat([await photo(5, 120, 120)]);
    await writeFile(join(out, 'user3.jpg'), byHand);

    const result = await runCli(args(await writePeople(dir, [person(0), person(1), person(2)]), '--remove-missing'));

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('not in the CSV: 0 removed, 1 left alone');
    expect(await readFile(join(out, 'user3.jpg'))).toEqual(byHand);
    expect(outcomes(lastRun(await readLedger(ledger)))).toMatchObject({ user3: 'skipped/changed_by_user' });
    const again = await runCli(args(await writePeople(dir, [person(0), person(1), person(2)]), '--remove-missing'));
    expect(outcomes(lastRun(await readLedger(ledger)))).not.toHaveProperty('user3');
    expect(again.code).toBe(0);
  });

  test('dry run: lists who would go, changes nothing, writes no ledger line', async () => {
    const { dir, out, ledger, args, files } = await imported();
    const before = await readFile(ledger);

    const result = await runCli(args(await writePeople(dir, [person(0), person(1)]), '--remove-missing', '--dry-run'));

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('user2 (not in the CSV): would remove: the avatar they had before set again');
    expect(result.stdout).toContain('user3 (not in the CSV): would remove: avatar cleared');
    expect(result.stdout).toContain('not in the CSV: 2 would be removed');
    expect(await readFile(join(out, 'user3.jpg'))).toEqual(files.user3);
    expect(await readFile(join(out, 'user2.jpg'))).toEqual(files.user2);
    expect(await readFile(ledger)).toEqual(before);
  });

  test('past the cap: exit 3 before anything is imported or removed, naming the count, the cap and how to raise it', async () => {
    const dir = await tempDir();
    const out = join(dir, 'avatars');
    const args = (csv: string, ...more: string[]) => [csv, '--out', out, '--progress', 'off', ...more];
    const twelve = Array.from({ length: 12 }, (_, i) => person(i));
    expect((await runCli(args(await writePeople(dir, twelve)))).code).toBe(0);
    const ledger = join(out, '.avatar-import', 'ledger.jsonl');
    const before = await readFile(ledger);
    // One stays, one new hire arrives, eleven are gone: more than the default cap (10 for 12 users).
    const csv = await writePeople(dir, [person(0), person(99)]);

    const stopped = await runCli(args(csv, '--remove-missing'));

    expect(stopped.code).toBe(3);
    expect(stopped.stderr).toContain('11 users of dir:');
    expect(stopped.stderr).toContain('more than the cap of 10 (the default: 5 % of the 12 users the ledger knows there, at least 10)');
    expect(stopped.stderr).toContain('Nothing was imported or removed');
    expect(stopped.stderr).toContain('--max-removals 11');
    expect(await readFile(ledger)).toEqual(before);
    expect(existsSync(join(out, 'user99.jpg'))).toBe(false);
    for (let i = 0; i < 12; i++) expect(existsSync(join(out, `user${i}.jpg`))).toBe(true);

    // --max-removals 0: no removal allowed, even one.
    const none = await runCli(args(await writePeople(dir, twelve.slice(1)), '--remove-missing', '--max-removals', '0'));
    expect(none.code).toBe(3);
    expect(none.stderr).toContain('1 user of dir:');
    expect(await readFile(ledger)).toEqual(before);

    // Raised: the new hire is imported and the eleven removed.
    const raised = await runCli(args(await writePeople(dir, [person(0), person(99)]), '--remove-missing', '--max-removals', '11'));
    expect(raised.code).toBe(0);
    expect(raised.stdout).toContain('1 ok, 1 skipped, 0 failed; not in the CSV: 11 removed');
    expect(existsSync(join(out, 'user99.jpg'))).toBe(true);
    expect(existsSync(join(out, 'user5.jpg'))).toBe(false);
  });

  test('refused (exit 2, nothing touched): a cut-short CSV, a row without its id, --shard, --only-new, standard input, --max-removals alone', async () => {
    const { dir, ledger, args, out, files } = await imported();
    const before = await readFile(ledger);
    const header = 'user_id,name,photo\n';
    const cut = join(dir, 'cut.csv');
    await writeFile(cut, `${header}user0,"Person user0",photos/p0-0.jpg\nuser1,"Person user1,photos/p1-1.jpg\n`);
    const noId = join(dir, 'no-id.csv');
    await writeFile(noId, `${header}user0,"Person user0",photos/p0-0.jpg\n,"Person user1",photos/p1-1.jpg\n`);
    const full = await writePeople(dir, [person(0), person(1)]);

    const refusals: [string[], string][] = [
      [args(cut, '--remove-missing'), 'a quoted field is never closed'],
      [args(noId, '--remove-missing'), 'the user_id cell is empty'],
      [args(full, '--remove-missing', '--shard', '1/2'), '--remove-missing cannot run with --shard'],
      [args(full, '--remove-missing', '--only-new'), '--remove-missing and --only-new do not go together'],
      [args('-', '--remove-missing'), 'needs the CSV as a file'],
      [args(full, '--max-removals', '5'), '--max-removals caps --remove-missing'],
    ];
    for (const [argv, message] of refusals) {
      const result = await runCli(argv, { input: await readFile(full, 'utf8') });
      expect({ argv: argv.join(' '), code: result.code }).toEqual({ argv: argv.join(' '), code: 2 });
      expect(result.stderr).toContain(message);
    }
    const cutResult = await runCli(args(cut, '--remove-missing'));
    expect(cutResult.stderr).toContain('nothing was sent');
    expect(await readFile(ledger)).toEqual(before);
    expect(await readFile(join(out, 'user3.jpg'))).toEqual(files.user3);
  });
});

describe('leavers on matrix and authgear', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => close?.());

  async function synapseWithFour() {
    const synapse = await FakeSynapse.start();
    close = () => synapse.close();
    synapse.addUser('ana', { avatar_url: 'mxc://example.org/anasOwn' });
    for (const name of ['bo', 'cy', 'dee']) synapse.addUser(name);
    const dir = await tempDir();
    const ledger = join(dir, 'hr.ledger.jsonl');
    const env = { MATRIX_ACCESS_TOKEN: synapse.adminToken };
    const cli = async (names: string[], ...more: string[]) => runCli([
      await writePeople(dir, names.map((name) => ({ id: `@${name}:example.org`, image: `photos/${name}.jpg`, seed: seedOf(name) }))),
      '--target', 'matrix', '--homeserver', synapse.url, '--ledger', ledger, '--progress', 'off', ...more,
    ], { env });
    expect((await cli(['ana', 'bo', 'cy', 'dee'], '--replace-existing')).code).toBe(0);
    return { synapse, dir, ledger, cli };
  }
  const writes = (synapse: FakeSynapse) => synapse.server.requests.filter((r) => r.method !== 'GET').length;

  test('matrix: the previous mxc set again, a first avatar cleared, one the user changed left alone; next run sends nothing', async () => {
    const { synapse, ledger, cli } = await synapseWithFour();
    // Bo sets his own avatar after the import.
    await fetch(`${synapse.url}/_matrix/client/v3/profile/${encodeURIComponent('@bo:example.org')}/avatar_url`, {
      method: 'PUT', headers: { authorization: `Bearer ${synapse.login('@bo:example.org')}`, 'content-type': 'application/json' }, body: JSON.stringify({ avatar_url: 'mxc://example.org/bosOwn' }),
    });
    synapse.addUser('eve');
    const dee = synapse.avatarOf('@dee:example.org');

    const result = await cli(['eve'], '--remove-missing');

    expect(result.code).toBe(0);
    expect(synapse.avatarOf('@ana:example.org')).toBe('mxc://example.org/anasOwn');
    expect(synapse.avatarOf('@bo:example.org')).toBe('mxc://example.org/bosOwn');
    expect(synapse.avatarOf('@cy:example.org') ?? null).toBeNull();
    expect(synapse.avatarOf('@dee:example.org') ?? null).toBeNull();
    expect(outcomes(lastRun(await readLedger(ledger)))).toEqual({
      '@eve:example.org': 'ok', '@ana:example.org': 'removed', '@bo:example.org': 'skipped/changed_by_user',
      '@cy:example.org': 'removed', '@dee:example.org': 'removed',
    });
    expect(lastRun(await readLedger(ledger)).find((line) => line.user === '@dee:example.org')).toMatchObject({ remote: '', previous: dee });
    expect(result.stdout).toContain('not in the CSV: 3 removed, 1 left alone');
    expect(result.stderr).not.toContain(synapse.adminToken);

    const before = writes(synapse);
    const again = await cli(['eve'], '--remove-missing');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('not in the CSV: 0 removed');
    expect(writes(synapse)).toBe(before);
  });

  test('matrix: an account deactivated since is skipped (user_gone), not a failure', async () => {
    const { synapse, ledger, cli } = await synapseWithFour();
    const admin = await fetch(`${synapse.url}/_synapse/admin/v2/users/${encodeURIComponent('@cy:example.org')}`, {
      method: 'PUT', headers: { authorization: `Bearer ${synapse.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ deactivated: true }),
    });
    expect(admin.ok).toBe(true);

    const result = await cli(['ana', 'bo', 'dee'], '--remove-missing');

    expect(result.code).toBe(0);
    expect(outcomes(lastRun(await readLedger(ledger)))).toMatchObject({ '@cy:example.org': 'skipped/user_gone' });
  });

  test('matrix: refusals and the cap send nothing; a dry run sends no write', async () => {
    const { synapse, dir, cli } = await synapseWithFour();
    const requests = synapse.server.requests.length;
    const cut = join(dir, 'cut.csv');
    await writeFile(cut, 'user_id,name,photo\n@ana:example.org,"Ana,photos/ana.jpg\n');
    const common = ['--target', 'matrix', '--homeserver', synapse.url, '--progress', 'off', '--remove-missing'];
    const env = { MATRIX_ACCESS_TOKEN: synapse.adminToken };

    const malformed = await runCli([cut, ...common], { env });
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('cannot be read whole');
    const sharded = await cli(['ana'], '--remove-missing', '--shard', '1/2');
    expect(sharded.code).toBe(2);
    const capped = await cli(['ana'], '--remove-missing', '--max-removals', '2');
    expect(capped.code).toBe(3);
    expect(capped.stderr).toContain('3 users of matrix:');
    expect(synapse.server.requests.length).toBe(requests);

    const before = writes(synapse);
    const dry = await cli(['ana'], '--remove-missing', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('not in the CSV: 3 would be removed');
    expect(writes(synapse)).toBe(before);
  });

  test('matrix: a removal whose line a kill lost is recorded on the next run, without a second request', async () => {
    const { synapse, ledger, cli } = await synapseWithFour();
    expect((await cli(['ana', 'bo', 'cy'], '--remove-missing')).code).toBe(0);
    // Cut the ledger where the removal's line starts: what a kill after the server call leaves.
    const text = await readFile(ledger, 'utf8');
    const at = text.lastIndexOf('{"type":"row"');
    expect(JSON.parse(text.slice(at, text.indexOf('\n', at)))).toMatchObject({ status: 'removed', user: '@dee:example.org' });
    await truncate(ledger, Buffer.byteLength(text.slice(0, at)));
    const before = writes(synapse);

    const next = await cli(['ana', 'bo', 'cy'], '--remove-missing');

    expect(next.code).toBe(0);
    expect(outcomes(lastRun(await readLedger(ledger)))).toMatchObject({ '@dee:example.org': 'removed/recovered' });
    expect(writes(synapse)).toBe(before);
    const third = await cli(['ana', 'bo', 'cy'], '--remove-missing');
    expect(outcomes(lastRun(await readLedger(ledger)))).not.toHaveProperty('@dee:example.org');
    expect(third.code).toBe(0);
  });

  test('matrix: a leaver whose removal line a kill lost and who is back in the CSV is imported as new, not taken for a user\'s change', async () => {
    const { synapse, ledger, cli } = await synapseWithFour();
    expect((await cli(['ana', 'bo', 'cy'], '--remove-missing')).code).toBe(0);
    const text = await readFile(ledger, 'utf8');
    await truncate(ledger, Buffer.byteLength(text.slice(0, text.lastIndexOf('{"type":"row"'))));
    expect(synapse.avatarOf('@dee:example.org') ?? null).toBeNull();

    const back = await cli(['ana', 'bo', 'cy', 'dee']);

    expect(back.code).toBe(0);
    expect(outcomes(lastRun(await readLedger(ledger)))).toMatchObject({ '@dee:example.org': 'ok' });
    expect(synapse.avatarOf('@dee:example.org')).toMatch(/^mxc:\/\//);
  });

  test('matrix: Ctrl-C during the removals finishes the one sent, records it, drops the rest (130); the same command does them', async () => {
    const { synapse, ledger, dir } = await synapseWithFour();
    const csv = await writePeople(dir, [{ id: '@ana:example.org', image: 'photos/ana.jpg', seed: seedOf('ana') }]);
    const args = [csv, '--target', 'matrix', '--homeserver', synapse.url, '--ledger', ledger, '--progress', 'off', '--remove-missing', '--concurrency', '1'];
    const env = { MATRIX_ACCESS_TOKEN: synapse.adminToken };
    // The present row is unchanged (no request that writes): the first PUT is a removal.
    const held = synapse.server.holdNext('profile_put');
    const child = startCli(args, { env });
    const done = collect(child);
    let stderr = '';
    const warned = new Promise<void>((resolve) => child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('SIGINT: taking no more rows')) resolve();
    }));
    await held.arrived;
    child.kill('SIGINT');
    await warned;
    held.release();
    const interrupted = await done;

    expect(interrupted.code).toBe(130);
    expect(interrupted.stdout).toContain('interrupted (SIGINT): requests already sent were finished and recorded; 0 rows were not done and nothing was written for them, nor for leavers not yet removed');
    const first = lastRun(await readLedger(ledger)).filter((line) => line.row === 0);
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ status: 'removed' });
    expect(synapse.avatarWrites.filter((w) => w.avatar_url === null)).toHaveLength(1);

    const resumed = await runCli(args, { env });
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('not in the CSV: 2 removed');
    for (const name of ['bo', 'cy', 'dee']) expect(synapse.avatarOf(`@${name}:example.org`) ?? null).toBeNull();
  });

  test('matrix: a removal the server refuses fails that leaver alone (exit 1, then 4 when it fails the same way), listed by ledger failed', async () => {
    const { synapse, ledger, cli } = await synapseWithFour();
    synapse.setFaults({ routes: ['profile_put'], errorEvery: 1 });

    const failing = await cli(['ana', 'bo', 'cy'], '--remove-missing', '--retries', '0');

    expect(failing.code).toBe(1);
    expect(outcomes(lastRun(await readLedger(ledger)))).toMatchObject({ '@dee:example.org': 'failed' });
    const listed = await runCli(['ledger', 'failed', '--ledger', ledger]);
    expect(listed.stdout).toMatch(/^leaver +@dee:example\.org \/ matrix:/m);
    expect((await cli(['ana', 'bo', 'cy'], '--remove-missing', '--retries', '0')).code).toBe(4);

    synapse.setFaults({});
    const healed = await cli(['ana', 'bo', 'cy'], '--remove-missing', '--retries', '0');
    expect(healed.code).toBe(0);
    expect(synapse.avatarOf('@dee:example.org') ?? null).toBeNull();
  });

  test('ledger tools show the removals; after compact the next run finds no leaver and the removal run still rolls back', async () => {
    const { synapse, ledger, cli } = await synapseWithFour();
    const cy = synapse.avatarOf('@cy:example.org');
    expect((await cli(['ana', 'bo'], '--remove-missing')).code).toBe(0);
    const removalRun = (await runs(ledger)).at(-1)!;

    const status = await runCli(['ledger', 'status', '--ledger', ledger]);
    expect(status.stdout).toMatch(/users: 4 {2}ok 2 {2}failed 0 {2}removed 2/);
    expect(status.stdout).toContain('skipped 2, removed 2');
    const show = await runCli(['ledger', 'show', '@cy:example.org', '--ledger', ledger]);
    expect(show.stdout).toContain('not in the CSV  removed');
    expect(show.stdout).toContain(`holds nothing  previous ${cy}`);

    expect((await runCli(['ledger', 'compact', '--ledger', ledger, '--keep-runs', '1'])).code).toBe(0);
    const writes = synapse.avatarWrites.length;
    const next = await cli(['ana', 'bo'], '--remove-missing');
    expect(next.stdout).toContain('not in the CSV: 0 removed');
    expect(synapse.avatarWrites.length).toBe(writes);

    const env = { MATRIX_ACCESS_TOKEN: synapse.adminToken };
    const undone = await runCli(['rollback', '--run', removalRun, '--ledger', ledger], { env });
    expect(undone.code).toBe(0);
    expect(undone.stdout).toContain('2 users changed by it; 2 restored');
    expect(synapse.avatarOf('@cy:example.org')).toBe(cy);
  });

  test('authgear: past the cap nothing is sent (exit 3); under it the previous picture is set again, a first picture removed with every other attribute kept', async () => {
    const fake = await FakeAuthgear.start();
    close = () => fake.close();
    const alice = fake.addUser({ email: 'alice@acme.example' });
    fake.setAttribute(alice, 'picture', 'https://example.com/alice-own.png');
    const bob = fake.addUser({ email: 'bob@acme.example', standard: { given_name: 'Bob', family_name: 'Builder' } });
    fake.addUser({ email: 'carol@acme.example' });
    const dir = await tempDir();
    await mkdir(join(dir, 'keys'));
    const keyFile = join(dir, 'keys', `${fake.keyId}.pem`);
    await writeFile(keyFile, fake.privateKeyPem, { mode: 0o600 });
    const ledger = join(dir, 'hr.ledger.jsonl');
    const cli = async (names: string[], ...more: string[]) => runCli([
      await writePeople(dir, names.map((name) => ({ id: `${name}@acme.example`, image: `photos/${name}.jpg`, seed: seedOf(name) })), 'email,name,photo'),
      '--target', 'authgear', '--endpoint', fake.url, '--project-id', fake.projectId, '--admin-key-file', keyFile, '--ledger', ledger, '--progress', 'off', ...more,
    ]);
    expect((await cli(['alice', 'bob', 'carol'], '--replace-existing')).code).toBe(0);
    const bobBefore = fake.readAttributes(bob);
    expect(bobBefore.picture).toBeDefined();
    // Two leavers against a cap of one: the run stops before it imports or removes anything.
    const sent = fake.updates.length;
    const capped = await cli(['carol'], '--remove-missing', '--max-removals', '1');
    expect(capped.code).toBe(3);
    expect(capped.stderr).toMatch(/2 users of authgear:\S+ are not in .*more than the cap of 1/);
    expect(fake.updates.length).toBe(sent);
    expect(fake.readAttributes(bob).picture).toBe(bobBefore.picture);

    // Under the default cap (5 % of the 3 users known, at least 10) they go.
    const result = await cli(['carol'], '--remove-missing');

    expect(result.code).toBe(0);
    expect(fake.readAttributes(alice).picture).toBe('https://example.com/alice-own.png');
    const bobAfter = fake.readAttributes(bob);
    expect(bobAfter.picture).toBeUndefined();
    expect({ ...bobAfter, updated_at: 0 }).toEqual({ ...bobBefore, picture: undefined, updated_at: 0 });
    expect(outcomes(lastRun(await readLedger(ledger)))).toEqual({ 'carol@acme.example': 'skipped', 'alice@acme.example': 'removed', 'bob@acme.example': 'removed' });

    const updates = fake.updates.length;
    const again = await cli(['carol'], '--remove-missing');
    expect(again.code).toBe(0);
    expect(fake.updates.length).toBe(updates);
  });
});

describe('leavers on zulip', () => {
  let zulip: FakeZulip | undefined;
  afterEach(async () => {
    await zulip?.close();
    expect(zulip?.server.errors).toEqual([]);
    zulip = undefined;
  });

  test('past the cap nothing is sent (exit 3); under it an upload of their own comes back byte for byte, a Gravatar user is DELETEd back to it (not the tool\'s older photo), a user who changed theirs is left alone', async () => {
    const server = (zulip = await FakeZulip.start());
    const emails = ['ana@corp.example', 'bo@corp.example', 'cy@corp.example', 'di@corp.example'];
    for (const email of emails) server.addUser(email);
    server.userChangesAvatar('ana@corp.example', await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 10, g: 120, b: 200 } } }).jpeg().toBuffer());
    const anaOwn = await server.avatarImage('ana@corp.example', 'medium');
    const dir = await tempDir();
    await mkdir(join(dir, 'photos'));
    const rc = join(dir, 'admin.zuliprc');
    await writeFile(rc, `[api]\nemail=${server.admin.email}\nkey=${server.admin.apiKey}\nsite=${server.url}\n`, { mode: 0o600 });
    const keys = join(dir, 'keys.csv');
    await writeFile(keys, ['email,api_key', ...emails.map((e) => `${e},${server.keyOf(e)}`)].join('\n') + '\n', { mode: 0o600 });
    const env = { ZULIP_EMAIL: '', ZULIP_API_KEY: '', ZULIP_SITE: '', XDG_CONFIG_HOME: join(dir, 'config'), ...stateEnv(dir) };
    const cli = async (people: [string, number][], ...more: string[]) => {
      const lines = ['email,photo'];
      for (const [email, seed] of people) {
        await writeFile(join(dir, 'photos', `${seed}.jpg`), await photo(seed, 800, 600));
        lines.push(`${email},photos/${seed}.jpg`);
      }
      await writeFile(join(dir, 'people.csv'), lines.join('\n') + '\n');
      return runCli([join(dir, 'people.csv'), '--target', 'zulip', '--admin-zuliprc', rc, '--credentials', keys, '--progress', 'off', ...more], { env });
    };
    const ledger = remoteLedger(dir, 'zulip', server.url);
    expect((await cli([[emails[0]!, 1], [emails[1]!, 2], [emails[2]!, 3], [emails[3]!, 4]], '--replace-existing')).code).toBe(0);
    // Bo's photo changes once: the tool's avatar over the tool's avatar.
    expect((await cli([[emails[0]!, 1], [emails[1]!, 22], [emails[2]!, 3], [emails[3]!, 4]])).code).toBe(0);
    const tools = { ana: await server.avatarImage('ana@corp.example', 'medium'), bo: await server.avatarImage('bo@corp.example', 'medium') };
    server.userChangesAvatar('cy@corp.example');
    const cyOwn = server.byEmail('cy@corp.example')!.avatarVersion;
    const avatarWrites = () => server.server.requests.filter((r) => r.route === 'avatar_upload' || r.route === 'avatar_delete').length;
    // Three leavers against a cap of two: nothing is imported, downloaded or removed (exit 3).
    const before = { writes: avatarWrites(), ana: server.byEmail('ana@corp.example')!.avatarVersion };
    const capped = await cli([[emails[3]!, 4]], '--remove-missing', '--max-removals', '2');
    expect(capped.code).toBe(3);
    expect(capped.stderr).toMatch(/3 users of zulip:\S+ are not in .*more than the cap of 2/);
    expect(avatarWrites()).toBe(before.writes);
    expect(server.byEmail('ana@corp.example')!.avatarVersion).toBe(before.ana);

    const result = await cli([[emails[3]!, 4]], '--remove-missing');

    expect(result.code).toBe(0);
    expect(outcomes(lastRun(await readLedger(ledger)))).toEqual({
      'di@corp.example': 'skipped', 'ana@corp.example': 'removed', 'bo@corp.example': 'removed', 'cy@corp.example': 'skipped/changed_by_user',
    });
    expect((await server.avatarImage('ana@corp.example', 'medium'))!.equals(anaOwn!)).toBe(true);
    expect(server.byEmail('bo@corp.example')!.avatarSource).toBe('G');
    expect(server.byEmail('cy@corp.example')!.avatarVersion).toBe(cyOwn);
    expect(result.stderr).not.toContain(server.keyOf('ana@corp.example'));

    const writes = avatarWrites();
    const again = await cli([[emails[3]!, 4]], '--remove-missing');
    expect(again.code).toBe(0);
    expect(avatarWrites()).toBe(writes);

    // Rolling the removal run back uploads the tool's avatars again from the copies it kept.
    const removalRun = (await runs(ledger)).at(-2)!;
    const undone = await runCli(['rollback', '--run', removalRun, '--ledger', ledger, '--target', 'zulip', '--admin-zuliprc', rc, '--credentials', keys, '--progress', 'off'], { env });
    expect(undone.code).toBe(0);
    expect((await server.avatarImage('ana@corp.example', 'medium'))!.equals(tools.ana!)).toBe(true);
    expect((await server.avatarImage('bo@corp.example', 'medium'))!.equals(tools.bo!)).toBe(true);
  });
});
