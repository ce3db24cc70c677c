// --config and --print-config through the CLI, and the rule that nothing is sent before every
// option, the config file, the templates and the credential files have been checked.
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FakeSynapse } from '../../testkit/servers/synapse.js';
import { avatarsIn, dirLedger, readLedger, rowLines, runCli, tempDir } from '../support/cli.js';
import { writePeople } from '../support/photos.js';

let synapse: FakeSynapse | undefined;
afterEach(async () => {
  await synapse?.close();
  synapse = undefined;
});

async function job(lines: string[]): Promise<{ dir: string; config: string }> {
  const dir = await tempDir();
  await writePeople(dir, [{ id: 'ana', image: 'photos/ana.jpg', seed: 1 }, { id: 'bo', image: 'photos/bo.jpg', seed: 2 }]);
  const config = join(dir, 'nightly.yaml');
  await writeFile(config, lines.join('\n') + '\n');
  return { dir, config };
}

describe('avatar-import --config FILE', () => {
  test('runs from the file alone (the CSV too), names relative to the file; a flag overrides the file', async () => {
    const { dir, config } = await job(['csv: people.csv', 'size: 200', 'progress: "off"', 'target: dir', 'out: avatars']);
    const elsewhere = await tempDir();

    const first = await runCli(['--config', config], { cwd: elsewhere });
    expect(first.code).toBe(0);
    expect(await avatarsIn(join(dir, 'avatars'))).toEqual(['ana.jpg', 'bo.jpg']);
    expect(rowLines(await readLedger(dirLedger(join(dir, 'avatars')))).map((l) => l.edge)).toEqual([200, 200]);

    const flagged = await runCli(['--config', config, '--size', '128'], { cwd: elsewhere });
    expect(flagged.code).toBe(0);
    const lines = rowLines(await readLedger(dirLedger(join(dir, 'avatars'))));
    expect(lines.slice(2).map((l) => [l.status, l.edge])).toEqual([['ok', 128], ['ok', 128]]);
  });

  test('--print-config prints the merged settings and exits 0 without reading the CSV or writing anything', async () => {
    synapse = await FakeSynapse.start();
    const { dir, config } = await job([
      'csv: missing.csv',
      'quality: 70',
      'targets:',
      '  - type: matrix',
      `    homeserver: ${synapse.url}`,
      '    token-file: matrix.token',
      '    concurrency: 6',
    ]);
    await writeFile(join(dir, 'matrix.token'), 'syt_secret_token_value\n');
    const result = await runCli(['--config', config, '--print-config', '--quality', '80'], { env: { MATRIX_ACCESS_TOKEN: 'syt_env_secret' } });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^quality: 80$/m);
    expect(result.stdout).toMatch(/^min-size: 96$/m);
    expect(result.stdout).toContain(`csv: ${join(dir, 'missing.csv')}`);
    expect(result.stdout).toMatch(/targets:\n {2}- type: matrix\n {4}homeserver: http:\/\/127\.0\.0\.1:\d+\n {4}token-file: .*matrix\.token\n {4}concurrency: 6/);
    expect(result.stdout + result.stderr).not.toMatch(/syt_/);
    expect(synapse.server.requests).toHaveLength(0);
    await expect(stat(dirLedger(join(dir, 'avatars')))).rejects.toThrow();
  });

  test('an unknown key is exit 2 naming the file, the line and the nearest key; nothing is written', async () => {
    const { dir, config } = await job(['csv: people.csv', 'target: dir', 'out: avatars', 'qualty: 80']);
    const result = await runCli(['--config', config]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`unknown key "qualty" in ${config} line 4; did you mean "quality"?`);
    await expect(stat(join(dir, 'avatars'))).rejects.toThrow();
  });

  test('a secret in the file is exit 2 naming the option to use instead, and is never echoed', async () => {
    const { config } = await job(['csv: people.csv', 'targets:', '  - type: matrix', '    homeserver: https://hs.example', '    token: syt_do_not_print_me']);
    const result = await runCli(['--config', config]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/token \(.*line 5 \(a matrix target\)\): secrets are not accepted in a config file; use token-file: FILE/);
    expect(result.stderr).not.toContain('syt_do_not_print_me');
  });

  test('a config file that cannot be read is exit 2', async () => {
    const result = await runCli(['--config', '/nonexistent/nightly.yaml']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--config \/nonexistent\/nightly\.yaml: cannot be read \(ENOENT\)/);
  });
});

describe('nothing is sent before everything is checked', () => {
  async function matrixJob(extra: string[]) {
    synapse = await FakeSynapse.start();
    synapse.addUser('ana');
    const dir = await tempDir();
    await mkdir(join(dir, 'photos'));
    const csv = await writePeople(dir, [{ id: 'ana', image: 'photos/ana.jpg', seed: 1 }], 'username,name,photo');
    return runCli([csv, '--target', 'matrix', '--homeserver', synapse.url, '--progress', 'off', ...extra], { env: { MATRIX_ACCESS_TOKEN: synapse.adminToken } });
  }

  test.each([
    [['--user-template', '@{email}:example.org'], /--user-template.*email/],
    [['--min-size', '600'], /--min-size \(600\) cannot be larger than the edge/],
    [['--token-file', '/nonexistent/token'], /--token-file \/nonexistent\/token: cannot be read/],
    [['--id-column', 'nope'], /columns missing: --id-column names no column "nope"/],
  ])('%j: exit 2 and the server saw no request', async (extra, message) => {
    const result = await matrixJob(extra);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(synapse!.server.requests).toHaveLength(0);
  });

  test('the same job with valid options does reach the server (the counter counts)', async () => {
    const result = await matrixJob(['--user-template', '@{username}:example.org']);
    expect(result.code).toBe(0);
    expect(synapse!.server.requests.length).toBeGreaterThan(0);
  });
});
