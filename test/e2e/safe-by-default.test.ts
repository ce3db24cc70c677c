// Issue 10, "safe by default for cron", through the CLI: the harm a nightly job once did (a renamed
// export overwrote a user's own avatar), and the ways it misled cron (no photo failing forever,
// Ctrl-C recorded as bugs, a wrong --images-dir filling the ledger). Synchronisation is the test
// server holding a request or the child's own output, never a sleep.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FakeSynapse } from '../../testkit/servers/synapse.js';
import {
  collect, dirLedger, lastRun, readLedger, remoteLedger, rowLines, runCli, startCli, stateEnv, tempDir, type LedgerRow,
} from '../support/cli.js';
import { photo, writePeople } from '../support/photos.js';

let synapse: FakeSynapse | undefined;
afterEach(async () => {
  await synapse?.close();
  synapse = undefined;
});

const byUser = (lines: LedgerRow[]) => Object.fromEntries(lines.map((l) => [l.user, l.error?.code ?? (l.reason ? `${l.status}:${l.reason}` : l.status)]));

/** An HR export named as HR systems name them, with a photo per person. */
async function dated(dir: string, date: string, names: string[]): Promise<string> {
  const csv = await writePeople(dir, names.map((name, i) => ({ id: name, image: `photos/${name}.jpg`, seed: i + 1 })), 'username,name,photo');
  const renamed = join(dir, `workday_${date}.csv`);
  await copyFile(csv, renamed);
  return renamed;
}

/** The user's own client setting their avatar (Element: the profile PUT with their own token). */
async function userSets(server: FakeSynapse, user: string, mxc: string): Promise<void> {
  const response = await fetch(`${server.url}/_matrix/client/v3/profile/${encodeURIComponent(user)}/avatar_url`, {
    method: 'PUT', headers: { authorization: `Bearer ${server.login(user)}`, 'content-type': 'application/json' }, body: JSON.stringify({ avatar_url: mxc }),
  });
  expect(response.status).toBe(200);
}

function matrix(csv: string, dir: string, extra: string[] = []) {
  return runCli([csv, '--target', 'matrix', '--homeserver', synapse!.url, '--user-template', '@{username}:example.org', '--progress', 'off', ...extra], {
    env: { MATRIX_ACCESS_TOKEN: synapse!.adminToken, ...stateEnv(dir) },
  });
}

describe('the ledger follows the target, not the CSV file name', () => {
  test('dir: tomorrow\'s renamed export finds tonight\'s history in the output folder and rewrites nothing', async () => {
    const dir = await tempDir();
    const out = join(dir, 'avatars');
    const first = await runCli([await dated(dir, '2026-12-01', ['ana', 'bo']), '--out', out, '--progress', 'off']);
    expect(first.code).toBe(0);
    const written = (await stat(join(out, 'ana.jpg'))).mtimeMs;

    const next = await runCli([await dated(dir, '2026-12-02', ['ana', 'bo']), '--out', out, '--progress', 'off']);

    expect(next.code).toBe(0);
    expect(byUser(lastRun(await readLedger(dirLedger(out))))).toEqual({ ana: 'skipped', bo: 'skipped' });
    expect((await readLedger(dirLedger(out))).filter((l) => l.type === 'run')).toHaveLength(2);
    expect((await stat(join(out, 'ana.jpg'))).mtimeMs).toBe(written);
  });

  test('matrix: a renamed export keeps the avatar a user chose herself, and a user who had one before the tool', async () => {
    synapse = await FakeSynapse.start();
    for (const name of ['ana', 'jane']) synapse.addUser(name);
    synapse.addUser('kim', { avatar_url: 'mxc://example.org/KimHadThis' });
    const dir = await tempDir();

    const first = await matrix(await dated(dir, '2026-12-01', ['ana', 'jane', 'kim']), dir);
    expect(first.code).toBe(0);
    expect(byUser(rowLines(await readLedger(remoteLedger(dir, 'matrix', synapse.url))))).toEqual({
      '@ana:example.org': 'ok', '@jane:example.org': 'ok', '@kim:example.org': 'skipped:has_own_avatar',
    });
    expect(first.stdout).toMatch(/1 skipped \(1 kept their own avatar\)/);
    await userSets(synapse, '@jane:example.org', 'mxc://example.org/JaneChoseThis');
    const uploads = synapse.uploads.length;

    const next = await matrix(await dated(dir, '2026-12-02', ['ana', 'jane', 'kim']), dir);

    expect(next.code).toBe(0);
    expect(byUser(lastRun(await readLedger(remoteLedger(dir, 'matrix', synapse.url))))).toEqual({
      '@ana:example.org': 'skipped', '@jane:example.org': 'skipped:changed_by_user', '@kim:example.org': 'skipped:has_own_avatar',
    });
    expect(synapse.avatarOf('@jane:example.org')).toBe('mxc://example.org/JaneChoseThis');
    expect(synapse.avatarOf('@kim:example.org')).toBe('mxc://example.org/KimHadThis');
    expect(synapse.uploads).toHaveLength(uploads);
    expect(next.stdout).toContain(`ledger: ${remoteLedger(dir, 'matrix', synapse.url)}`);
  });

  test('an old-style <csv>.ledger.jsonl beside the CSV is used while the new place is empty, with how to move it', async () => {
    const dir = await tempDir();
    const csv = await writePeople(dir, [{ id: 'ana', image: 'photos/ana.jpg', seed: 1 }]);
    const out = join(dir, 'avatars');
    const legacy = join(dir, 'people.ledger.jsonl');
    // What the first wave did by default.
    expect((await runCli([csv, '--out', out, '--ledger', legacy, '--progress', 'off'])).code).toBe(0);

    const upgraded = await runCli([csv, '--out', out, '--progress', 'off']);

    expect(upgraded.code).toBe(0);
    expect(upgraded.stderr).toContain(`using the ledger beside the CSV, ${legacy}`);
    expect(upgraded.stderr).toContain(`mv '${legacy}' '${dirLedger(out)}'`);
    expect(byUser(lastRun(await readLedger(legacy)))).toEqual({ ana: 'skipped' });
    await expect(stat(dirLedger(out))).rejects.toThrow();
  });
});

describe('first contact keeps what users chose', () => {
  test('dir: a file the ledger does not know is kept (dry run and summary count it); --replace-existing replaces it and records it', async () => {
    const dir = await tempDir();
    const csv = await writePeople(dir, [{ id: 'ana', image: 'photos/ana.jpg', seed: 1 }, { id: 'bo', image: 'photos/bo.jpg', seed: 2 }]);
    const out = join(dir, 'avatars');
    await mkdir(out);
    const theirs = await photo(42);
    await writeFile(join(out, 'ana.jpg'), theirs);
    const sha = createHash('sha256').update(theirs).digest('hex');

    const dry = await runCli([csv, '--out', out, '--dry-run', '--progress', 'off']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/row 1 ana: skip \(has_own_avatar\)/);
    expect(dry.stdout).toMatch(/1 would be ok, 1 skipped \(1 would keep their own avatar\)/);

    const kept = await runCli([csv, '--out', out, '--progress', 'off']);
    expect(kept.code).toBe(0);
    expect(lastRun(await readLedger(dirLedger(out))).find((l) => l.user === 'ana')).toMatchObject({ status: 'skipped', reason: 'has_own_avatar', found: sha });
    expect((await readFile(join(out, 'ana.jpg'))).equals(theirs)).toBe(true);
    expect(kept.stdout).toContain('--replace-existing replaces them');

    const replaced = await runCli([csv, '--out', out, '--progress', 'off', '--replace-existing']);
    expect(replaced.code).toBe(0);
    expect(lastRun(await readLedger(dirLedger(out))).find((l) => l.user === 'ana')).toMatchObject({ status: 'ok', previous: sha });
    expect((await readFile(join(out, 'ana.jpg'))).equals(theirs)).toBe(false);
  });

  test('matrix: an avatar a user had before the tool is kept; --replace-existing sets ours and records hers as previous', async () => {
    synapse = await FakeSynapse.start();
    synapse.addUser('ana', { avatar_url: 'mxc://example.org/AnaChoseThis' });
    synapse.addUser('bo');
    const dir = await tempDir();
    const csv = await writePeople(dir, [{ id: 'ana', image: 'photos/ana.jpg', seed: 1 }, { id: 'bo', image: 'photos/bo.jpg', seed: 2 }], 'username,name,photo');

    const kept = await matrix(csv, dir);
    expect(kept.code).toBe(0);
    expect(lastRun(await readLedger(remoteLedger(dir, 'matrix', synapse.url))).find((l) => l.user === '@ana:example.org'))
      .toMatchObject({ status: 'skipped', reason: 'has_own_avatar', found: 'mxc://example.org/AnaChoseThis' });
    expect(synapse.avatarOf('@ana:example.org')).toBe('mxc://example.org/AnaChoseThis');

    const replaced = await matrix(csv, dir, ['--replace-existing']);
    expect(replaced.code).toBe(0);
    const line = lastRun(await readLedger(remoteLedger(dir, 'matrix', synapse.url))).find((l) => l.user === '@ana:example.org')!;
    expect(line).toMatchObject({ status: 'ok', previous: 'mxc://example.org/AnaChoseThis' });
    expect(synapse.avatarOf('@ana:example.org')).toBe(line['remote']);
  });
});

describe('no photo is not a failure', () => {
  test('an empty image cell is skipped as no_photo (exit 0); --require-photo fails it as missing_value (exit 1)', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'photos'));
    await writeFile(join(dir, 'photos', 'ana.jpg'), await photo(1));
    await writeFile(join(dir, 'people.csv'), 'id,photo\nana,photos/ana.jpg\nsam,\n');
    const out = join(dir, 'avatars');

    const result = await runCli([join(dir, 'people.csv'), '--out', out, '--progress', 'off']);
    expect(result.code).toBe(0);
    expect(byUser(rowLines(await readLedger(dirLedger(out))))).toEqual({ ana: 'ok', sam: 'skipped:no_photo' });
    expect(result.stdout).toMatch(/1 ok, 1 skipped \(1 with no photo\), 0 failed/);
    expect((await runCli([join(dir, 'people.csv'), '--out', out, '--progress', 'off'])).code).toBe(0); // every night

    const strict = await runCli([join(dir, 'people.csv'), '--out', out, '--progress', 'off', '--require-photo']);
    expect(strict.code).toBe(1);
    expect(byUser(lastRun(await readLedger(dirLedger(out))))).toEqual({ ana: 'skipped', sam: 'missing_value' });
  });
});

describe('exit codes cron can act on', () => {
  test('1 for a new failure, 4 when every failure is the same as last time, 1 again when its input changes, 0 once fixed', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'photos'));
    await writeFile(join(dir, 'photos', 'ana.jpg'), await photo(1));
    await writeFile(join(dir, 'photos', 'sam.jpg'), Buffer.from('not a photo'));
    await writeFile(join(dir, 'people.csv'), 'id,photo\nana,photos/ana.jpg\nsam,photos/sam.jpg\n');
    const args = [join(dir, 'people.csv'), '--out', join(dir, 'avatars'), '--progress', 'off'];

    const first = await runCli(args);
    expect(first.code).toBe(1);
    expect(first.stdout).toMatch(/1 failed \(1 new, 0 as last time\)/);

    const again = await runCli(args);
    expect(again.code).toBe(4);
    expect(again.stdout).toMatch(/1 failed \(0 new, 1 as last time\)/);

    await writeFile(join(dir, 'photos', 'sam.jpg'), Buffer.from('still not a photo, but another file'));
    expect((await runCli(args)).code).toBe(1);

    await writeFile(join(dir, 'photos', 'sam.jpg'), await photo(2));
    expect((await runCli(args)).code).toBe(0);
  });

  test('rows that name no user (a malformed record, an empty id, a second row) are carried over too, until the CSV changes them', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'photos'));
    await writeFile(join(dir, 'photos', 'ana.jpg'), await photo(1));
    const csv = join(dir, 'people.csv');
    const export1 = 'id,photo\nana,photos/ana.jpg\nbo,photos/ana.jpg,extra\n,photos/ana.jpg\nana,photos/ana.jpg\n';
    await writeFile(csv, export1);
    const args = [csv, '--out', join(dir, 'avatars'), '--progress', 'off'];

    expect((await runCli(args)).code).toBe(1);
    const again = await runCli(args);
    expect(again.code).toBe(4); // cron is not paged every night for the same broken line
    expect(again.stdout).toMatch(/3 failed \(0 new, 3 as last time\)/);

    // HR breaks another line: that one is new (exit 1), the others are still as last time.
    await writeFile(csv, export1 + 'cy,"photos/ana.jpg\n');
    const worse = await runCli(args);
    expect(worse.code).toBe(1);
    expect(worse.stdout).toMatch(/4 failed \(1 new, 3 as last time\)/);
  });

  test('2 for a usage error, naming the option', async () => {
    const dir = await tempDir();
    const csv = await writePeople(dir, [{ id: 'ana', image: 'photos/ana.jpg', seed: 1 }]);
    const result = await runCli([csv, '--out', join(dir, 'avatars'), '--halt-on-fail-ratio', '2']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--halt-on-fail-ratio expects a fraction from 0 to 1, got "2"/);
  });
});

describe('a clearly misconfigured run stops early and says why (exit 3)', () => {
  test('file_not_found: names the folder it looked in and the one that holds the photos', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'hr', 'photos'), { recursive: true });
    const names = Array.from({ length: 16 }, (_, i) => `IMG_${4021 + i}.JPG`);
    const jpeg = await photo(1);
    // One photo where --images-dir points, fifteen in the subfolder the export really uses.
    await writeFile(join(dir, 'hr', names[0]!), jpeg);
    for (const name of names.slice(1)) await writeFile(join(dir, 'hr', 'photos', name), jpeg);
    await writeFile(join(dir, 'hr', 'export.csv'), 'id,photo\n' + names.map((name, i) => `user${i},${name}`).join('\n') + '\n');
    const args = [join(dir, 'hr', 'export.csv'), '--out', join(dir, 'avatars'), '--progress', 'off'];

    const halted = await runCli(args);

    expect(halted.code).toBe(3);
    expect(halted.stderr).toContain('15 of the first 16 rows failed with file_not_found');
    expect(halted.stderr).toContain(`the photos were looked for in ${join(dir, 'hr')}`);
    expect(halted.stderr).toContain(`use --images-dir ${join(dir, 'hr', 'photos')}`);
    expect(halted.stdout).toContain(`use --images-dir ${join(dir, 'hr', 'photos')}`);

    // Turned off, the run goes through: the same 15 failures as the halted run, nothing new (4).
    const through = await runCli([...args, '--halt-on-fail-ratio', '0']);
    expect(through.code).toBe(4);
    expect(through.stdout).toMatch(/0 ok, 1 skipped, 15 failed \(0 new, 15 as last time\)/);
    // The hint followed: fifteen photos found; IMG_4021, which only the old folder had, is now new.
    const fixed = await runCli([...args, '--images-dir', join(dir, 'hr', 'photos')]);
    expect(fixed.code).toBe(1);
    expect(fixed.stdout).toMatch(/15 ok, 0 skipped, 1 failed \(1 new, 0 as last time\)/);
  });

  test('matrix user_not_found: shows an id as sent and one as the server knows users', async () => {
    synapse = await FakeSynapse.start();
    synapse.addUser('jdoe');
    const dir = await tempDir();
    const jpeg = await photo(1);
    const names = ['jane.doe', 'john.smith', 'ann.lee', 'bo.ek', 'cy.po', 'di.ra', 'ed.lu', 'flo.ma', 'gus.ta', 'hal.vo', 'ida.ne', 'jo.ko'];
    const csv = await writePeople(dir, names.map((name) => ({ id: name, image: 'photos/same.jpg', bytes: jpeg })), 'username,name,photo');

    const halted = await matrix(csv, dir);

    expect(halted.code).toBe(3);
    expect(halted.stderr).toContain('12 of the first 12 rows failed with user_not_found');
    expect(halted.stderr).toMatch(/users are sent as @[a-z]+\.[a-z]+:example\.org, but matrix knows them as e\.g\. @jdoe:example\.org/);
    expect(synapse.uploads).toHaveLength(0);
  });
});

describe('interrupts are not errors', () => {
  /** 40 people with one shared photo; rows go one at a time to the server (--concurrency 1), so a
   * held request holds the run where the test wants it. */
  async function crowd(dir: string): Promise<{ csv: string; users: string[] }> {
    const jpeg = await photo(3);
    const names = Array.from({ length: 40 }, (_, i) => `u${String(i).padStart(2, '0')}`);
    for (const name of names) synapse!.addUser(name);
    const csv = await writePeople(dir, names.map((name) => ({ id: name, image: 'photos/same.jpg', bytes: jpeg })), 'username,name,photo');
    return { csv, users: names.map((name) => `@${name}:example.org`) };
  }

  test.each([['SIGINT', 130], ['SIGTERM', 143]] as const)('%s mid-run: the request in flight is finished and recorded, the rest get no line; exit %i; the resume does every row ok exactly once', async (signal, code) => {
    synapse = await FakeSynapse.start();
    const dir = await tempDir();
    const { csv, users } = await crowd(dir);
    const held = synapse.server.holdNext('profile_put');
    const args = [csv, '--target', 'matrix', '--homeserver', synapse.url, '--user-template', '@{username}:example.org', '--progress', 'off', '--concurrency', '1'];
    const env = { MATRIX_ACCESS_TOKEN: synapse.adminToken, ...stateEnv(dir) };

    const child = startCli(args, { env });
    const done = collect(child);
    let stderr = '';
    const warned = new Promise<void>((resolve) => child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes(`${signal}: taking no more rows`)) resolve();
    }));
    await held.arrived;
    child.kill(signal);
    await warned;
    held.release();
    const interrupted = await done;

    expect(interrupted.code).toBe(code);
    expect(interrupted.stdout).toMatch(new RegExp(`interrupted \\(${signal}\\): requests already sent were finished and recorded; \\d+ rows were not done and nothing was written for them: run the same command again`));
    const ledger = remoteLedger(dir, 'matrix', synapse.url);
    const before = rowLines(await readLedger(ledger));
    expect(before.filter((l) => l.status !== 'ok')).toEqual([]); // nothing recorded as failed
    expect(before.length).toBeGreaterThanOrEqual(1); // the held request's row
    expect(before.length).toBeLessThan(users.length);

    const resumed = await runCli(args, { env });
    expect(resumed.code).toBe(0);
    const all = rowLines(await readLedger(ledger));
    for (const user of users) expect(all.filter((l) => l.user === user && l.status === 'ok')).toHaveLength(1);
    expect(all.filter((l) => l.status === 'failed')).toEqual([]);
  });

  test('a second Ctrl-C stops at once, even with a request still held; the ledger still parses and resumes', async () => {
    synapse = await FakeSynapse.start();
    const dir = await tempDir();
    const { csv, users } = await crowd(dir);
    const held = synapse.server.holdNext('profile_put'); // never released
    const args = [csv, '--target', 'matrix', '--homeserver', synapse.url, '--user-template', '@{username}:example.org', '--progress', 'off', '--concurrency', '1'];
    const env = { MATRIX_ACCESS_TOKEN: synapse.adminToken, ...stateEnv(dir) };

    const child = startCli(args, { env });
    const done = collect(child);
    let stderr = '';
    let again = false;
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      // The first SIGINT waits for the held request; the second one must not.
      if (!again && stderr.includes('SIGINT: taking no more rows')) {
        again = true;
        child.kill('SIGINT');
      }
    });
    await held.arrived;
    child.kill('SIGINT');
    const stopped = await done;

    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toContain('SIGINT again: stopping at once');
    const text = await readFile(remoteLedger(dir, 'matrix', synapse.url), 'utf8').catch(() => '');
    const complete = text.endsWith('\n') ? text : text.slice(0, text.lastIndexOf('\n') + 1);
    for (const line of complete.split('\n').filter(Boolean)) expect(() => JSON.parse(line)).not.toThrow();

    const resumed = await runCli(args, { env });
    expect(resumed.code).toBe(0);
    expect(lastRun(await readLedger(remoteLedger(dir, 'matrix', synapse.url))).map((l) => l.user).sort()).toEqual(users);
  });
});
