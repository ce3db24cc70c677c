import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { FakeZulip } from '../../testkit/servers/zulip.js';
import { lastRun, readLedger, remoteLedger, runCli, stateEnv, tempDir, type LedgerRow } from '../support/cli.js';
import { photo } from '../support/photos.js';

// Rollback on Zulip through the CLI, against a fake Zulip that serves avatars and DELETE as the
// real one does. Zulip cannot set an old avatar again by reference: the tool keeps the uploaded
// image it replaces beside the ledger (backup/) and uploads it again; a default avatar (Gravatar)
// is set again with DELETE /users/me/avatar as the user.

let zulip: FakeZulip;
afterEach(async () => {
  await zulip?.close();
  expect(zulip.server.errors).toEqual([]);
});

const EMAILS = ['ana@corp.example', 'bo@corp.example', 'cy@corp.example', 'di@corp.example'];

/** A Zulip where Ana uploaded her own picture and the others show their Gravatar. */
async function world() {
  zulip = await FakeZulip.start();
  for (const email of EMAILS) zulip.addUser(email);
  const own = await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 10, g: 120, b: 200 } } }).jpeg().toBuffer();
  zulip.userChangesAvatar('ana@corp.example', own);
  const dir = await tempDir();
  await mkdir(join(dir, 'photos'));
  const rc = join(dir, 'admin.zuliprc');
  await writeFile(rc, `[api]\nemail=${zulip.admin.email}\nkey=${zulip.admin.apiKey}\nsite=${zulip.url}\n`, { mode: 0o600 });
  const keys = join(dir, 'keys.csv');
  await writeFile(keys, ['email,api_key', ...EMAILS.map((e) => `${e},${zulip.keyOf(e)}`)].join('\n') + '\n', { mode: 0o600 });
  const env = { ZULIP_EMAIL: '', ZULIP_API_KEY: '', ZULIP_SITE: '', XDG_CONFIG_HOME: join(dir, 'config'), ...stateEnv(dir) };
  const access = ['--target', 'zulip', '--admin-zuliprc', rc, '--credentials', keys];
  /** people-<seed>.csv for these users, each with a photo of its own. */
  const csv = async (emails: string[], seed: number): Promise<string> => {
    const lines = ['email,photo'];
    for (const [i, email] of emails.entries()) {
      await writeFile(join(dir, 'photos', `${seed}-${i}.jpg`), await photo(seed + i, 800, 600));
      lines.push(`${email},photos/${seed}-${i}.jpg`);
    }
    const path = join(dir, `people-${seed}.csv`);
    await writeFile(path, lines.join('\n') + '\n');
    return path;
  };
  const cli = (args: string[]) => runCli([...args, '--progress', 'off'], { env });
  return { dir, env, access, csv, cli, ledger: remoteLedger(dir, 'zulip', zulip.url) };
}

const lastRunId = (lines: LedgerRow[]) => lines.filter((line) => line.type === 'run').at(-1)!.run as string;
const outcomes = (lines: LedgerRow[]) => Object.fromEntries(lines.map((line) => [line.user, `${line.status}${line.reason ? `/${line.reason}` : ''}`]));
const image = (email: string) => zulip.avatarImage(email, 'medium');

describe('rollback (zulip)', () => {
  test('import A, import B, rollback B: kept uploads come back byte for byte, a first avatar is DELETEd, a user changed since is left alone', async () => {
    const { csv, cli, access, ledger, dir } = await world();
    const anaOwn = await image('ana@corp.example');
    // Run A replaces Ana's own picture only because it is told to (first contact keeps it otherwise).
    const a = await cli([await csv(EMAILS.slice(0, 3), 10), ...access, '--replace-existing']);
    expect(a.code).toBe(0);
    const afterA = { ana: await image('ana@corp.example'), bo: await image('bo@corp.example') };
    const b = await cli([await csv(EMAILS, 20), ...access]);
    expect(b.code).toBe(0);
    const runB = lastRunId(await readLedger(ledger));
    const bLines = new Map(lastRun(await readLedger(ledger)).map((line) => [line.user, line]));
    // B kept what it replaced: A's uploads (in backup/ beside the ledger), and said when it was a default.
    expect(bLines.get('ana@corp.example')!.previous).toMatch(/^backup\/[0-9a-f]{64}\.png$/);
    expect(bLines.get('di@corp.example')!.previous).toBe('default');
    // Every file in backup/ is named by a ledger line: A kept Ana's own picture, B kept A's three.
    const named = (await readLedger(ledger)).map((line) => line.previous).filter((p): p is string => typeof p === 'string' && p.startsWith('backup/'));
    expect(named).toHaveLength(4);
    expect((await readdir(join(dirname(ledger), 'backup'))).sort()).toEqual(named.map((p) => p.slice('backup/'.length)).sort());
    // Cy picks her own picture after B.
    zulip.userChangesAvatar('cy@corp.example');
    const cyOwn = zulip.byEmail('cy@corp.example')!.avatarVersion;

    // The dry run sends nothing that changes anything and downloads nothing; the ledger is untouched.
    const ledgerBefore = await readLedger(ledger);
    const requestsBefore = zulip.server.requests.length;
    const dry = await cli(['rollback', '--run', runB, '--ledger', ledger, ...access, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('would restore');
    const sentByDry = zulip.server.requests.slice(requestsBefore).map((r) => r.route);
    expect(sentByDry.filter((route) => ['avatar_upload', 'avatar_delete', 'user_avatars'].includes(route))).toEqual([]);
    expect(await readLedger(ledger)).toEqual(ledgerBefore);

    const result = await cli(['rollback', '--run', runB, '--ledger', ledger, ...access]);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('4 users changed by it; 3 restored, 1 skipped, 0 failed');
    // Ana and Bo show A's pictures again: the same bytes as the server served after A.
    expect((await image('ana@corp.example'))!.equals(afterA.ana!)).toBe(true);
    expect((await image('bo@corp.example'))!.equals(afterA.bo!)).toBe(true);
    // What was uploaded is what had been kept: A's 500 px rendition, as a PNG.
    const reuploads = zulip.uploads.slice(-2);
    expect(reuploads.map((u) => u.contentType)).toEqual(['image/png', 'image/png']);
    // Di had no avatar before B: DELETE, as Di, back to the Gravatar.
    expect(zulip.byEmail('di@corp.example')!.avatarSource).toBe('G');
    expect(zulip.avatarDeletes).toEqual([zulip.byEmail('di@corp.example')!.userId]);
    expect(zulip.requestsBy('di@corp.example', 'avatar_delete')).toBe(1);
    // Cy's own picture is untouched.
    expect(zulip.byEmail('cy@corp.example')!.avatarVersion).toBe(cyOwn);
    expect(outcomes(lastRun(await readLedger(ledger)))).toEqual({
      'ana@corp.example': 'ok/rollback', 'bo@corp.example': 'ok/rollback', 'cy@corp.example': 'skipped/changed_since_run', 'di@corp.example': 'ok/rollback',
    });
    expect(result.stderr).not.toContain(zulip.keyOf('ana@corp.example'));

    // The next import of A's CSV finds A's avatars in place: nothing is uploaded.
    const uploads = zulip.uploads.length;
    const again = await cli([join(dir, 'people-10.csv'), ...access]);
    expect(again.code).toBe(0);
    expect(zulip.uploads.length).toBe(uploads);
    expect(outcomes(lastRun(await readLedger(ledger)))).toEqual({ 'ana@corp.example': 'skipped', 'bo@corp.example': 'skipped', 'cy@corp.example': 'skipped/changed_by_user' });

    // --force restores Cy too; rolling A back with --force gives Ana her own picture, byte for byte.
    expect((await cli(['rollback', '--run', runB, '--ledger', ledger, ...access, '--user', 'cy@corp.example', '--force'])).code).toBe(0);
    expect(zulip.byEmail('cy@corp.example')!.avatarVersion).toBe(cyOwn + 1);
    const runA = (await readLedger(ledger)).filter((line) => line.type === 'run')[0]!.run as string;
    expect((await cli(['rollback', '--run', runA, '--ledger', ledger, ...access, '--user', 'ana@corp.example'])).code).toBe(0);
    expect(outcomes(lastRun(await readLedger(ledger)))).toEqual({ 'ana@corp.example': 'skipped/changed_since_run' });
    expect((await cli(['rollback', '--run', runA, '--ledger', ledger, ...access, '--user', 'ana@corp.example', '--force'])).code).toBe(0);
    expect((await image('ana@corp.example'))!.equals(anaOwn!)).toBe(true);
  });

  test('with --ledger elsewhere, the backups live beside that ledger; a rollback can itself be rolled back', async () => {
    const { csv, cli, access, dir } = await world();
    const ledger = join(dir, 'elsewhere', 'zulip.jsonl');
    await mkdir(dirname(ledger));
    expect((await cli([await csv(['bo@corp.example'], 30), ...access, '--ledger', ledger])).code).toBe(0);
    const afterA = await image('bo@corp.example');
    expect((await cli([await csv(['bo@corp.example'], 40), ...access, '--ledger', ledger])).code).toBe(0);
    const afterB = await image('bo@corp.example');
    expect((await readdir(join(dir, 'elsewhere', 'backup')))).toHaveLength(1);
    expect(await readdir(join(dir, 'state', 'avatar-import', 'backup')).catch(() => [])).toEqual([]);

    expect((await cli(['rollback', '--run', lastRunId(await readLedger(ledger)), '--ledger', ledger, ...access])).code).toBe(0);
    expect((await image('bo@corp.example'))!.equals(afterA!)).toBe(true);
    // The rollback kept B's picture before replacing it: undoing the rollback brings B back.
    expect((await cli(['rollback', '--run', lastRunId(await readLedger(ledger)), '--ledger', ledger, ...access])).code).toBe(0);
    expect((await image('bo@corp.example'))!.equals(afterB!)).toBe(true);
  });

  test('ledger compact removes the kept images no line names any more (older than a day); rollback of a kept run still works after it', async () => {
    const { csv, cli, access, ledger, env } = await world();
    const pictures: (Buffer | undefined)[] = [];
    for (const seed of [30, 40, 50]) {
      expect((await cli([await csv(['bo@corp.example'], seed), ...access])).code).toBe(0);
      pictures.push(await image('bo@corp.example'));
    }
    const afterB = pictures[1];
    const backups = join(dirname(ledger), 'backup');
    // B kept A's picture, C kept B's: two files, both a day old.
    const files = await readdir(backups);
    expect(files).toHaveLength(2);
    const old = new Date(Date.now() - 2 * 86_400_000);
    for (const file of files) await utimes(join(backups, file), old, old);
    const keptByC = (lastRun(await readLedger(ledger))[0]!.previous as string).slice('backup/'.length);

    // Keeping only the last run: B's line (naming A's picture) goes, and so does A's picture.
    const compact = await runCli(['ledger', 'compact', '--ledger', ledger, '--keep-runs', '1'], { env });

    expect(compact.code).toBe(0);
    expect(compact.stdout).toContain('backup/: 1 images no ledger names removed');
    expect(await readdir(backups)).toEqual([keptByC]);
    const runC = lastRunId(await readLedger(ledger));
    expect((await cli(['rollback', '--run', runC, '--ledger', ledger, ...access])).code).toBe(0);
    expect((await image('bo@corp.example'))!.equals(afterB!)).toBe(true);
  });

  test('a leavers run (--remove-missing) is rolled back like any other: the tool\'s avatars it removed come back from what it kept', async () => {
    const { csv, cli, access, ledger } = await world();
    expect((await cli([await csv(EMAILS.slice(0, 3), 60), ...access, '--replace-existing'])).code).toBe(0);
    const afterImport = { ana: await image('ana@corp.example'), bo: await image('bo@corp.example') };
    // Ana and Bo left: Ana gets her own upload back, Bo his Gravatar (DELETE).
    expect((await cli([await csv(['cy@corp.example'], 60), ...access, '--remove-missing'])).code).toBe(0);
    expect(zulip.byEmail('bo@corp.example')!.avatarSource).toBe('G');
    const removal = lastRunId(await readLedger(ledger));
    expect(outcomes(lastRun(await readLedger(ledger)))).toMatchObject({ 'ana@corp.example': 'removed', 'bo@corp.example': 'removed' });
    for (const line of lastRun(await readLedger(ledger)).filter((l) => l.status === 'removed')) expect(line.previous).toMatch(/^backup\//);

    const result = await cli(['rollback', '--run', removal, '--ledger', ledger, ...access]);

    expect(result.code).toBe(0);
    // (Cy's new photo in that run is rolled back too: the run changed her.)
    expect(outcomes(lastRun(await readLedger(ledger)))).toMatchObject({ 'ana@corp.example': 'ok/rollback', 'bo@corp.example': 'ok/rollback' });
    expect((await image('ana@corp.example'))!.equals(afterImport.ana!)).toBe(true);
    expect((await image('bo@corp.example'))!.equals(afterImport.bo!)).toBe(true);
  });

  test('a rollback killed between a restore and its line: run again, it finds the restore landed (its intent line) and records it, sending nothing', async () => {
    const { csv, cli, access, ledger, dir } = await world();
    expect((await cli([await csv(['ana@corp.example', 'bo@corp.example'], 70), ...access, '--replace-existing'])).code).toBe(0);
    expect((await cli([await csv(['ana@corp.example', 'bo@corp.example'], 80), ...access])).code).toBe(0);
    const runB = lastRunId(await readLedger(ledger));
    expect((await cli(['rollback', '--run', runB, '--ledger', ledger, ...access])).code).toBe(0);
    // As if killed right after Zulip took Ana's upload and Bo's: the intents are on disk, the row
    // lines and the end line are not.
    const text = await readFile(ledger, 'utf8');
    const lines = text.split('\n').filter(Boolean);
    const rollbackRun = lastRunId(await readLedger(ledger));
    const intents = lines.filter((l) => JSON.parse(l).type === 'intent' && JSON.parse(l).run === rollbackRun);
    expect(intents.map((l) => JSON.parse(l).user).sort()).toEqual(['ana@corp.example', 'bo@corp.example']);
    await writeFile(ledger, lines.filter((l) => !(JSON.parse(l).run === rollbackRun && ['row', 'end'].includes(JSON.parse(l).type))).join('\n') + '\n');
    const writes = () => zulip.server.requests.filter((r) => r.route === 'avatar_upload' || r.route === 'avatar_delete').length;
    const before = writes();

    const again = await cli(['rollback', '--run', runB, '--ledger', ledger, ...access]);

    expect(again.code).toBe(0);
    expect(outcomes(lastRun(await readLedger(ledger)))).toEqual({ 'ana@corp.example': 'ok/recovered', 'bo@corp.example': 'ok/recovered' });
    expect(writes()).toBe(before);
    // The next import of A's CSV finds A's avatars as the tool left them: nothing to send.
    expect((await cli([join(dir, 'people-70.csv'), ...access])).code).toBe(0);
    expect(outcomes(lastRun(await readLedger(ledger)))).toEqual({ 'ana@corp.example': 'skipped', 'bo@corp.example': 'skipped' });
    expect(writes()).toBe(before);
  });

  test('leavers: a removal whose line a kill lost (an upload put back, a DELETE) is recorded on the next run, without a second request', async () => {
    const { csv, cli, access, ledger } = await world();
    expect((await cli([await csv(EMAILS.slice(0, 3), 90), ...access, '--replace-existing'])).code).toBe(0);
    const stay = await csv(['cy@corp.example'], 92); // Cy's photo as in that run: only the leavers change
    expect((await cli([stay, ...access, '--remove-missing'])).code).toBe(0);
    // Cut the ledger before the removals' lines (and the run's end): what a kill after both server calls leaves.
    const lines = (await readFile(ledger, 'utf8')).split('\n').filter(Boolean);
    const run = lastRunId(await readLedger(ledger));
    const cut = lines.filter((l) => !(JSON.parse(l).run === run && ((JSON.parse(l).type === 'row' && JSON.parse(l).status === 'removed') || JSON.parse(l).type === 'end')));
    expect(lines.length - cut.length).toBe(3);
    await writeFile(ledger, cut.join('\n') + '\n');
    const writes = () => zulip.server.requests.filter((r) => r.route === 'avatar_upload' || r.route === 'avatar_delete').length;
    const before = writes();

    const next = await cli([stay, ...access, '--remove-missing']);

    expect(next.code).toBe(0);
    expect(outcomes(lastRun(await readLedger(ledger)))).toMatchObject({ 'ana@corp.example': 'removed/recovered', 'bo@corp.example': 'removed/recovered' });
    expect(writes()).toBe(before);
  });
});
