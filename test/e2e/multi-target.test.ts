// Several targets in one run, through the CLI and a config file: dir, a fake Synapse and a fake
// Authgear whose admin key is revoked mid-run. Each source is read once for all targets; the
// failing target stops alone (its remaining rows get no line, and the next run picks them up);
// the others finish; the exit code is the worst across targets.
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FakeAuthgear } from '../servers/authgear.js';
import { FakeSynapse } from '../../testkit/servers/synapse.js';
import { lastRun, readLedger, runCli, tempDir } from '../support/cli.js';
import type { LedgerRow } from '../support/cli.js';
import { writePeople } from '../support/photos.js';

let synapse: FakeSynapse | undefined;
let authgear: FakeAuthgear | undefined;
afterEach(async () => {
  await synapse?.close();
  await authgear?.close();
});

const NAMES = ['ana', 'bo', 'cy', 'di', 'ed', 'flo'];

async function setUp() {
  synapse = await FakeSynapse.start();
  authgear = await FakeAuthgear.start();
  for (const name of NAMES) {
    synapse.addUser(name);
    authgear.addUser({ email: `${name}@acme.example` });
  }
  const dir = await tempDir('avatar-import-multi-');
  // username is the id column; the email column feeds Authgear's template.
  const people = NAMES.map((name, i) => ({ id: `${name},${name}@acme.example`, image: `photos/${name}.jpg`, seed: i + 1 }));
  await writePeople(dir, people, 'username,email,name,photo');
  await writeFile(join(dir, 'matrix.token'), synapse.adminToken + '\n', { mode: 0o600 });
  await writeFile(join(dir, `${authgear.keyId}.pem`), authgear.privateKeyPem, { mode: 0o600 });
  const config = join(dir, 'nightly.yaml');
  await writeFile(config, [
    'csv: people.csv',
    // One ledger for all three targets (each would have its own by default): lines are keyed by
    // target and user, so they share it without colliding.
    'ledger: people.ledger.jsonl',
    'progress: "off"',
    'targets:',
    '  - type: dir',
    '    out: avatars',
    '  - type: matrix',
    `    homeserver: ${synapse.url}`,
    '    token-file: matrix.token',
    '    user-template: "@{username}:example.org"',
    '    size: 256',
    '  - type: authgear',
    `    endpoint: ${authgear.url}`,
    `    project-id: ${authgear.projectId}`,
    `    admin-key-file: ${authgear.keyId}.pem`,
    '    user-template: "{email}"',
    '    concurrency: 1',
    '',
  ].join('\n'));
  return { dir, config, ledger: join(dir, 'people.ledger.jsonl') };
}

const byTarget = (lines: LedgerRow[], prefix: string): LedgerRow[] => lines.filter((l) => String(l['target']).startsWith(prefix));

describe('several targets in one run', () => {
  test('one source read per row for all targets; a target failing mid-run stops alone; the next run finishes it', async () => {
    const { dir, config, ledger } = await setUp();
    // The Authgear admin key is revoked while the second picture is being stored.
    let updates = 0;
    authgear!.hook = { alter: (attributes) => { if (++updates === 2) authgear!.revokeKey(authgear!.keyId); return attributes; } };

    const first = await runCli(['--config', config]);

    expect(first.code).toBe(3);
    expect(first.stdout).toContain('images read: 6 (');
    expect(first.stdout).toMatch(/once for all 3 targets/);
    expect(first.stdout).toMatch(new RegExp(`^authgear:${authgear!.url.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\n(  .*\\n)*  aborted: `, 'm'));
    const lines = lastRun(await readLedger(ledger));
    const dirLines = byTarget(lines, 'dir:');
    const matrixLines = byTarget(lines, 'matrix:');
    const authgearLines = byTarget(lines, 'authgear:');
    expect(dirLines.map((l) => l.status)).toEqual(Array(6).fill('ok'));
    expect(matrixLines.map((l) => l.status)).toEqual(Array(6).fill('ok'));
    expect((await readdir(join(dir, 'avatars'))).sort()).toEqual(NAMES.map((n) => `${n}.jpg`).sort());
    for (const name of NAMES) expect(synapse!.avatarOf(`@${name}:example.org`)).toMatch(/^mxc:\/\//);
    // Authgear: the rows done before the key went are recorded; the others have no line at all.
    expect(authgearLines.map((l) => l.status)).toEqual(['ok', 'ok']);
    // Two image settings (Matrix asked for 256 px; the 400×300 photos give 300 px squares
    // elsewhere): each avatar made per settings, from one read.
    expect(new Set(dirLines.map((l) => l['edge']))).toEqual(new Set([300]));
    expect(new Set(matrixLines.map((l) => l['edge']))).toEqual(new Set([256]));

    // The operator installs a new key; the next run picks up only what is not done.
    const key = authgear!.addKey();
    await writeFile(join(dir, `${key.keyId}.pem`), key.privateKeyPem, { mode: 0o600 });
    authgear!.hook = {};
    const second = await runCli(['--config', config, '--admin-key-file', join(dir, `${key.keyId}.pem`)]);

    expect(second.code).toBe(0);
    const again = lastRun(await readLedger(ledger));
    expect(byTarget(again, 'dir:').map((l) => l.status)).toEqual(Array(6).fill('skipped'));
    expect(byTarget(again, 'matrix:').map((l) => l.status)).toEqual(Array(6).fill('skipped'));
    expect(byTarget(again, 'authgear:').filter((l) => l.status === 'ok')).toHaveLength(4);
    expect(byTarget(again, 'authgear:').filter((l) => l.status === 'skipped')).toHaveLength(2);
    // Only the four rows Authgear still needed were read.
    expect(second.stdout).toContain('images read: 4 (');
    for (const name of NAMES) expect([...authgear!.users.values()].find((u) => u.standard['email'] === `${name}@acme.example`)?.standard['picture']).toBeDefined();
  });

  test('--target picks among the config file\'s targets; a target that cannot open stops alone (exit 3)', async () => {
    const { dir, config, ledger } = await setUp();
    synapse!.revoke(synapse!.adminToken);

    const result = await runCli(['--config', config, '--target', 'dir,matrix']);

    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/refused the access token/);
    const lines = lastRun(await readLedger(ledger));
    expect(byTarget(lines, 'dir:').map((l) => l.status)).toEqual(Array(6).fill('ok'));
    expect(byTarget(lines, 'matrix:')).toHaveLength(0);
    expect(byTarget(lines, 'authgear:')).toHaveLength(0);
    expect(authgear!.server.requests).toHaveLength(0);
    expect((await readdir(join(dir, 'avatars')))).toHaveLength(6);
  });

  test('a usage error in any target stops the run before any target is contacted', async () => {
    const { config } = await setUp();
    const result = await runCli(['--config', config, '--admin-key-file', '/nonexistent/key.pem']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--admin-key-file \/nonexistent\/key\.pem: cannot be read .*targets\[3\]/);
    expect(synapse!.server.requests).toHaveLength(0);
    expect(authgear!.server.requests).toHaveLength(0);
  });
});

describe('ledgers per target', () => {
  test('targets sharing a ledger file share it (one run line naming both); a target given its own file writes only there', async () => {
    const dir = await tempDir('avatar-import-ledgers-');
    await writePeople(dir, NAMES.slice(0, 3).map((name, i) => ({ id: name, image: `photos/${name}.jpg`, seed: i + 1 })));
    const config = join(dir, 'job.yaml');
    await writeFile(config, [
      'csv: people.csv',
      // Given at the top: every target without a ledger of its own shares this file.
      'ledger: people.ledger.jsonl',
      'progress: "off"',
      'targets:',
      '  - type: dir',
      '    out: intranet',
      '  - type: dir',
      '    out: badges',
      '    size: 128',
      '  - type: dir',
      '    out: archive',
      '    ledger: archive.ledger.jsonl',
      '',
    ].join('\n'));

    const result = await runCli(['--config', config]);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('images read: 3 (');
    const shared = await readLedger(join(dir, 'people.ledger.jsonl'));
    const own = await readLedger(join(dir, 'archive.ledger.jsonl'));
    const runLines = shared.filter((l) => l.type === 'run');
    expect(runLines).toHaveLength(1);
    expect((runLines[0]!['options'] as { targets: { target: string }[] }).targets.map((t) => t.target)).toEqual([`dir:${join(dir, 'intranet')}`, `dir:${join(dir, 'badges')}`]);
    expect(byTarget(lastRun(shared), 'dir:').map((l) => [String(l['target']).slice(dir.length + 5), l.status, l['edge']]).sort()).toEqual([
      ['badges', 'ok', 128], ['badges', 'ok', 128], ['badges', 'ok', 128],
      ['intranet', 'ok', 300], ['intranet', 'ok', 300], ['intranet', 'ok', 300],
    ]);
    expect(lastRun(own).map((l) => [l['target'], l.status])).toEqual(Array(3).fill([`dir:${join(dir, 'archive')}`, 'ok']));
    expect(own.filter((l) => l.type === 'run')).toHaveLength(1);
  });
});
