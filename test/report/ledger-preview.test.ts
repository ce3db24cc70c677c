import { rm, writeFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { ledgerCommand } from '../../src/cli/ledger-command.js';
import { join } from 'node:path';
import { readLedger, runCli, tempDir } from '../support/cli.js';
import { photo, writePeople } from '../support/photos.js';
import { sheetRows } from '../support/sheet.js';
import { previewFromLedger } from '../../src/report/preview/from-ledger.js';

// The contact sheet of a run that is over, made from its ledger: pictures made again from the
// sources, checked against what the ledger says was sent.

describe('ledger preview', () => {
  test("a finished run's sheet: avatars made again identical to what was sent, and cards saying what is gone or changed", async () => {
    const dir = await tempDir();
    const csv = await writePeople(dir, [
      { id: 'ana', image: 'photos/ana.jpg', seed: 1 },
      { id: 'ben', image: 'photos/ben.jpg', seed: 2 },
      { id: 'cy', image: 'photos/cy.jpg', seed: 3 },
      { id: 'dee', image: 'photos/missing.jpg' },
    ]);
    const out = join(dir, 'avatars');
    const ledger = join(dir, 'run.ledger.jsonl');
    const first = await runCli([csv, '--out', out, '--ledger', ledger, '--progress', 'off']);
    expect(first.code).toBe(1);
    const run = (await readLedger(ledger)).find((line) => line.type === 'run')!.run as string;

    // Afterwards: one photo deleted, one replaced.
    await rm(join(dir, 'photos/ben.jpg'));
    await writeFile(join(dir, 'photos/cy.jpg'), await photo(9));

    const file = join(dir, 'run.html');
    const result = await previewFromLedger({ ledger, run, file, jobs: 2 });
    expect(result).toEqual({ rows: 4, identical: 1, unavailable: 2 });
    const rows = await sheetRows(file);
    const card = (user: string) => rows.find((row) => row.u === user)!;
    expect(card('ana')).toMatchObject({ s: 'ok', i: expect.stringMatching(/^run_files\/s-[0-9a-f]{24}\.jpg$/), a: expect.stringMatching(/^run_files\/a-[0-9a-f]{24}\.jpg$/) });
    expect(card('ana').n).toBeUndefined(); // identical: nothing to say
    expect(card('ana').f).toEqual(['Person ana']); // the display column, from the run's CSV
    expect(card('ben').n).toContain('the photo is gone');
    expect(card('cy').n).toContain('the photo has changed since this run');
    expect(card('cy').i).toBeDefined();
    expect(card('cy').a).toBeUndefined();
    expect(card('dee')).toMatchObject({ s: 'failed', c: 'file_not_found' });
  });

  test('avatar-import ledger preview --run ID --preview FILE.html', async () => {
    const dir = await tempDir();
    const csv = await writePeople(dir, [{ id: 'ana', image: 'photos/ana.jpg', seed: 1 }, { id: 'ben', image: 'photos/ben.jpg', seed: 2 }]);
    const ledger = join(dir, 'run.ledger.jsonl');
    await runCli([csv, '--out', join(dir, 'avatars'), '--ledger', ledger, '--progress', 'off']);
    const run = (await readLedger(ledger)).find((line) => line.type === 'run')!.run as string;
    const file = join(dir, 'sheet.html');
    const out: string[] = [];
    const stdout = new Writable({ write: (chunk, _encoding, done) => { out.push(String(chunk)); done(); } });

    expect(await ledgerCommand(['preview', '--ledger', ledger, '--run', run, '--preview', file], stdout)).toBe(0);
    expect(out.join('')).toBe(`${file}: 2 rows of run ${run}; 2 avatars made again identical to what was sent, 0 rows without pictures (photo gone, changed or a URL)\n`);
    expect((await sheetRows(file)).map((row) => row.u).sort()).toEqual(['ana', 'ben']);
    await expect(ledgerCommand(['preview', '--ledger', ledger], stdout)).rejects.toThrow('ledger preview needs --run ID');
    await expect(ledgerCommand(['preview', '--ledger', ledger, '--run', run, '--preview', join(dir, 'x.pdf')], stdout)).rejects.toThrow('--preview expects a file name ending in .html, got');
  });

  test('an unknown run id is a usage error naming the runs the ledger has', async () => {
    const dir = await tempDir();
    const csv = await writePeople(dir, [{ id: 'ana', image: 'photos/ana.jpg', seed: 1 }]);
    const out = join(dir, 'avatars');
    const ledger = join(dir, 'run.ledger.jsonl');
    await runCli([csv, '--out', out, '--ledger', ledger, '--progress', 'off']);
    const run = (await readLedger(ledger)).find((line) => line.type === 'run')!.run as string;
    await expect(previewFromLedger({ ledger, run: 'nope', file: join(dir, 'x.html'), jobs: 1 })).rejects.toThrow(`--run nope: no such run in ${ledger}; its latest runs are ${run}`);
  });
});
