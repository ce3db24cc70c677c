import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chooseLedger, defaultLedgerPath, ledgerStem, legacyLedgerPath, stateDir } from '../../src/ledger/location.js';
import { tempDir } from '../support/cli.js';

describe('where a ledger lives by default', () => {
  const env = { HOME: '/home/ops' };

  test('dir keeps its ledger inside the output folder, so state travels with the avatars', () => {
    expect(defaultLedgerPath({ name: 'dir', id: 'dir:/srv/avatars' }, env)).toBe('/srv/avatars/.avatar-import/ledger.jsonl');
  });

  test('a remote target keeps its ledger in the state folder, named after the target id', () => {
    expect(defaultLedgerPath({ name: 'matrix', id: 'matrix:https://matrix.example.org' }, env)).toBe('/home/ops/.local/state/avatar-import/matrix-matrix.example.org.jsonl');
    expect(defaultLedgerPath({ name: 'zulip', id: 'zulip:https://chat.example.com' }, { XDG_STATE_HOME: '/var/lib/state' })).toBe('/var/lib/state/avatar-import/zulip-chat.example.com.jsonl');
  });

  test('a relative XDG_STATE_HOME is ignored, as the XDG spec says', () => {
    expect(stateDir({ HOME: '/home/ops', XDG_STATE_HOME: 'state' })).toBe('/home/ops/.local/state/avatar-import');
  });

  test('port and path are part of the name: two servers on one host never share a ledger', () => {
    expect(ledgerStem('zulip:https://chat.example.com:8443/zulip')).toBe('chat.example.com_8443_zulip');
    expect(ledgerStem('matrix:http://127.0.0.1:39123')).toBe('127.0.0.1_39123');
    expect(ledgerStem('authgear:https://ID.Example.com')).toBe('id.example.com');
  });

  test('whatever the CSV is called, the same target finds the same ledger', async () => {
    const home = await tempDir();
    const owner = { name: 'matrix', id: 'matrix:https://hs.example' };
    const monday = await chooseLedger({ owner, csvPath: '/srv/hr/workday_2026-11-30.csv', env: { HOME: home } });
    const tuesday = await chooseLedger({ owner, csvPath: '/srv/hr/workday_2026-12-01.csv', env: { HOME: home } });
    expect(tuesday.path).toBe(monday.path);
  });
});

describe('choosing the ledger', () => {
  test('--ledger wins', async () => {
    const chosen = await chooseLedger({ owner: { name: 'dir', id: 'dir:/srv/a' }, explicit: 'run.jsonl', csvPath: '/x/people.csv' });
    expect(chosen.path).toBe(join(process.cwd(), 'run.jsonl'));
    expect(chosen.notice).toBeUndefined();
  });

  test("an old-style ledger beside the CSV is used while the new place is empty, with how to move it", async () => {
    const root = await tempDir();
    const csv = join(root, 'people.csv');
    await writeFile(legacyLedgerPath(csv), '{"type":"run"}\n');
    const chosen = await chooseLedger({ owner: { name: 'dir', id: `dir:${join(root, 'out')}` }, csvPath: csv });
    expect(chosen.path).toBe(join(root, 'people.ledger.jsonl'));
    expect(chosen.notice).toContain(`mv '${join(root, 'people.ledger.jsonl')}' '${join(root, 'out', '.avatar-import', 'ledger.jsonl')}'`);
  });

  test('once the new place has history, the old file is ignored', async () => {
    const root = await tempDir();
    const csv = join(root, 'people.csv');
    await writeFile(legacyLedgerPath(csv), '{"type":"run"}\n');
    await mkdir(join(root, 'out', '.avatar-import'), { recursive: true });
    await writeFile(join(root, 'out', '.avatar-import', 'ledger.jsonl'), '{"type":"run"}\n');
    const chosen = await chooseLedger({ owner: { name: 'dir', id: `dir:${join(root, 'out')}` }, csvPath: csv });
    expect(chosen.path).toBe(join(root, 'out', '.avatar-import', 'ledger.jsonl'));
    expect(chosen.notice).toBeUndefined();
  });
});
