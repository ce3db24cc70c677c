import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lastRun, readLedger, remoteLedger, rowLines, runCli, stateEnv, tempDir } from '../support/cli.js';
import { writePeople } from '../support/photos.js';
import { DEFAULT_LOOKUP_BATCH_SIZE } from '../../src/targets/authgear/options.js';
import { FakeAuthgear } from '../../testkit/servers/authgear.js';
import { photo } from '../support/photos.js';

// `--target authgear` as an admin runs it: the built CLI against a fake Authgear on loopback,
// with the key file the portal hands out. What happened is read from the fake's state and the
// ledger, never from timing.

let fake: FakeAuthgear;
afterEach(async () => {
  await fake.close();
  expect(fake.server.errors).toEqual([]);
});

async function project(emails: string[], options: { keyPem?: string; keyId?: string } = {}) {
  const dir = await tempDir('avatar-import-authgear-');
  const csv = await writePeople(dir, emails.map((email, i) => ({ id: email, image: `photos/p${i}.jpg`, seed: i })), 'email,name,photo');
  await mkdir(join(dir, 'keys'));
  const keyFile = join(dir, 'keys', `${options.keyId ?? fake.keyId}.pem`);
  await writeFile(keyFile, options.keyPem ?? fake.privateKeyPem, { mode: 0o600 });
  const args = [csv, '--target', 'authgear', '--endpoint', fake.url, '--project-id', fake.projectId, '--admin-key-file', keyFile, '--progress', 'off'];
  // The default ledger, with the run's state folder in the test's folder.
  return { dir, csv, args, opts: { env: stateEnv(dir) }, ledger: remoteLedger(dir, 'authgear', fake.url) };
}

const statuses = (lines: { user?: string; status?: string; reason?: string; error?: { code: string } }[]) =>
  Object.fromEntries(lines.map((l) => [l.user, l.error?.code ?? (l.reason ? `${l.status}:${l.reason}` : l.status)]));

describe('avatar-import --target authgear', () => {
  test('a nightly re-run of 2 000 unchanged users costs at most 2000 / N + 5 requests and reads no image', async () => {
    fake = await FakeAuthgear.start();
    const users = Array.from({ length: 2000 }, (_, i) => `user${i}@acme.example`);
    for (const email of users) fake.addUser({ email });
    const dir = await tempDir('avatar-import-authgear-nightly-');
    // One photo for everyone: the first run normalises and uploads it once.
    await mkdir(join(dir, 'photos'));
    await writeFile(join(dir, 'photos', 'p.jpg'), await photo(1));
    const csv = join(dir, 'people.csv');
    await writeFile(csv, ['email,name,photo', ...users.map((u, i) => `${u},Person ${i},photos/p.jpg`)].join('\n') + '\n');
    await mkdir(join(dir, 'keys'));
    const keyFile = join(dir, 'keys', `${fake.keyId}.pem`);
    await writeFile(keyFile, fake.privateKeyPem, { mode: 0o600 });
    const args = [csv, '--target', 'authgear', '--endpoint', fake.url, '--project-id', fake.projectId, '--admin-key-file', keyFile, '--progress', 'off'];
    expect((await runCli([...args, '--concurrency', '8'], { env: stateEnv(dir) })).code).toBe(0);
    expect(fake.updates).toHaveLength(2000);

    const before = { requests: fake.graphqlRequests, presigned: fake.presigned.length };
    const again = await runCli(args, { env: stateEnv(dir) });
    expect(again.code).toBe(0);
    const lines = lastRun(await readLedger(remoteLedger(dir, 'authgear', fake.url)));
    expect(lines).toHaveLength(2000);
    expect(lines.every((l) => l.status === 'skipped')).toBe(true);
    expect(again.stdout).toContain('images read: 0 (0 B)');
    expect(fake.presigned.length).toBe(before.presigned);
    expect(fake.graphqlRequests - before.requests).toBeLessThanOrEqual(2000 / DEFAULT_LOOKUP_BATCH_SIZE + 5);
  }, 120_000);

  test('sets every picture, keeps every other attribute, records the https read-back; a second run uploads nothing', async () => {
    fake = await FakeAuthgear.start();
    const ana = fake.addUser({ email: 'ana@acme.example', standard: { name: 'Ana Ortiz', locale: 'es', picture: 'https://gravatar.example/ana.jpg' }, custom: { team: 'hr' } });
    const bo = fake.addUser({ email: 'bo@acme.example', standard: { given_name: 'Bo', address: { locality: 'Oslo', country: 'NO' } } });
    const p = await project(['ana@acme.example', 'bo@acme.example']);

    // Ana's picture was there before the tool: replaced only because the operator says so.
    const first = await runCli([...p.args, '--max-bytes', '20MiB', '--replace-existing'], p.opts);
    expect(first.stderr).toContain('--max-bytes capped to 10.0 MiB');
    expect(first.code).toBe(0);
    const lines = rowLines(await readLedger(p.ledger));
    expect(statuses(lines)).toEqual({ 'ana@acme.example': 'ok', 'bo@acme.example': 'ok' });
    const host = new URL(fake.url).host;
    for (const [email, id] of [['ana@acme.example', ana], ['bo@acme.example', bo]] as const) {
      const line = lines.find((l) => l.user === email)!;
      expect(line.remote).toMatch(new RegExp(`^https://${host.replace('.', '\\.')}/_images/myapp/[0-9a-f-]{36}/profile$`));
      expect(fake.readAttributes(id).picture).toBe(line.remote);
    }
    expect(lines.find((l) => l.user === 'ana@acme.example')!.previous).toBe('https://gravatar.example/ana.jpg');
    expect(fake.user(ana).standard).toMatchObject({ name: 'Ana Ortiz', locale: 'es', email: 'ana@acme.example' });
    expect(fake.user(ana).custom).toEqual({ team: 'hr' });
    expect(fake.user(bo).standard).toMatchObject({ given_name: 'Bo', address: { locality: 'Oslo', country: 'NO' } });
    expect([...fake.images.values()].every((i) => i.contentType === 'image/jpeg' && i.bytes.subarray(0, 2).equals(Buffer.from([0xff, 0xd8])))).toBe(true);
    // The audit log names this run.
    const run = (await readLedger(p.ledger)).find((l) => l.type === 'run')!;
    expect(new Set(fake.tokens.map((t) => JSON.stringify(t.claims.audit_context)))).toEqual(new Set([JSON.stringify({ tool: 'avatar-import', run_id: run.run })]));
    for (const t of new Set(fake.tokens.map((x) => x.token))) expect(first.stderr + first.stdout).not.toContain(t);

    const before = { presign: fake.presigned.length, uploads: fake.images.size, updates: fake.updates.length };
    const second = await runCli(p.args, p.opts);
    expect(second.code).toBe(0);
    expect(statuses(lastRun(await readLedger(p.ledger)))).toEqual({ 'ana@acme.example': 'skipped', 'bo@acme.example': 'skipped' });
    expect({ presign: fake.presigned.length, uploads: fake.images.size, updates: fake.updates.length }).toEqual(before);
  });

  test('a user who changed their picture since the last run is kept (changed_by_user) unless --overwrite-user-changes', async () => {
    fake = await FakeAuthgear.start();
    const ana = fake.addUser({ email: 'ana@acme.example' });
    fake.addUser({ email: 'bo@acme.example' });
    const p = await project(['ana@acme.example', 'bo@acme.example']);
    expect((await runCli(p.args, p.opts)).code).toBe(0);

    fake.setAttribute(ana, 'picture', 'https://gravatar.example/my-own.jpg');
    const updates = fake.updates.length;
    const second = await runCli([...p.args, '--force'], p.opts);
    expect(second.code).toBe(0);
    expect(statuses(lastRun(await readLedger(p.ledger)))).toEqual({ 'ana@acme.example': 'skipped:changed_by_user', 'bo@acme.example': 'ok' });
    expect(fake.readAttributes(ana).picture).toBe('https://gravatar.example/my-own.jpg');
    expect(fake.updates.length).toBe(updates + 1); // bo only (--force redid him)

    const third = await runCli([...p.args, '--overwrite-user-changes'], p.opts);
    expect(third.code).toBe(0);
    const line = lastRun(await readLedger(p.ledger)).find((l) => l.user === 'ana@acme.example')!;
    expect(line.status).toBe('ok');
    expect(line.previous).toBe('https://gravatar.example/my-own.jpg');
    expect(fake.readAttributes(ana).picture).toBe(line.remote);
  });

  test('a key Authgear refuses aborts the run with exit 3 before any row, saying what to check; nothing is uploaded', async () => {
    fake = await FakeAuthgear.start();
    fake.addUser({ email: 'ana@acme.example' });
    const p = await project(['ana@acme.example'], { keyPem: FakeAuthgear.generateKey().privateKeyPem, keyId: '0123abcd' });

    const result = await runCli(p.args, p.opts);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('avatar-import: aborted:');
    expect(result.stderr).toContain('HTTP 403 Forbidden');
    expect(result.stderr).toContain('--key-id 0123abcd');
    expect(result.stderr).toContain('--project-id myapp');
    expect(result.stderr).toMatch(/clock/);
    expect(fake.presigned).toHaveLength(0);
    expect(fake.images.size).toBe(0);
    expect(fake.server.count('graphql')).toBe(2); // the probe, and once more with a new token
    expect(rowLines(await readLedger(p.ledger))).toHaveLength(0);
  });

  test('row outcomes land in the ledger with stable codes; a verify mismatch keeps both versions', async () => {
    fake = await FakeAuthgear.start();
    fake.addUser({ email: 'ana@acme.example', standard: { name: 'Ana' } });
    fake.addUser({ email: 'bo@acme.example' });
    fake.addUser({ email: 'bo.2@acme.example', identities: [{ kind: 'oauth', email: 'bo@acme.example' }] });
    fake.addUser({ email: 'cy@acme.example', deactivated: true });
    fake.hook = { alter: (attrs) => ({ ...attrs, name: typeof attrs.name === 'string' ? attrs.name.toUpperCase() : attrs.name }) };
    const p = await project(['ana@acme.example', 'bo@acme.example', 'cy@acme.example', 'ghost@acme.example']);

    const result = await runCli(p.args, p.opts);
    expect(result.code).toBe(1);
    const lines = rowLines(await readLedger(p.ledger));
    expect(statuses(lines)).toEqual({
      'ana@acme.example': 'verify_failed',
      'bo@acme.example': 'ambiguous_user',
      'cy@acme.example': 'user_deactivated',
      'ghost@acme.example': 'user_not_found',
    });
    const failed = lines.find((l) => l.user === 'ana@acme.example')!;
    expect(failed.error!.message).toMatch(/picture before \(none\), written authgearimages:\/\/\/myapp\/[0-9a-f-]{36}, read back https:\/\/\S+\/profile; other attributes changed: name: "Ana" → "ANA"/);
  });
});
