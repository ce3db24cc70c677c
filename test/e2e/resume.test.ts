import { appendFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { avatarsIn, collect, dirLedger, lastRun, readLedger, rowLines, runCli, startCli, tempDir } from '../support/cli.js';
import { writePeople } from '../support/photos.js';

// One-off migrations must survive crashes: a run killed with SIGKILL loses at most the rows in
// flight, and the next run finishes the job without redoing what was done.

const people = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `user${i}`, image: `photos/p${i}.jpg`, seed: i }));

describe('resume', () => {
  test('after kill -9 the next run skips what was done and finishes the rest', async () => {
    const dir = await tempDir();
    const csv = await writePeople(dir, people(40));
    const out = join(dir, 'avatars');
    const args = [csv, '--out', out, '--progress', 'off', '--jobs', '1', '--concurrency', '1'];

    // Killed as soon as it reports its fifth finished row (no sleeps: the child's own output is the signal).
    const child = startCli([...args, '--verbose']);
    let oks = 0;
    child.stderr!.on('data', (chunk: Buffer) => {
      oks += (chunk.toString().match(/: ok \(/g) ?? []).length;
      if (oks >= 5) child.kill('SIGKILL');
    });
    const killed = await collect(child);
    expect(killed.signal).toBe('SIGKILL');

    const ledgerPath = dirLedger(join(dir, 'avatars'));
    const before = rowLines(await readLedger(ledgerPath));
    expect(before.length).toBeGreaterThanOrEqual(5);
    expect(before.length).toBeLessThan(40);
    // A crash can tear the last line: the next run must shrug it off.
    await appendFile(ledgerPath, '{"type":"row","ts":"2026-');

    const resumed = await runCli(args);
    expect(resumed.code).toBe(0);
    const after = lastRun(await readLedger(ledgerPath));
    expect(after).toHaveLength(40);
    const done = new Set(before.filter((l) => l.status === 'ok').map((l) => l.user));
    for (const line of after) expect(line.status).toBe(done.has(line.user) ? 'skipped' : 'ok');
    expect((await readdir(out)).filter((f) => f.endsWith('.jpg'))).toHaveLength(40);
    expect((await readdir(out)).filter((f) => f.endsWith('.tmp'))).toHaveLength(0);

    const third = await runCli(args);
    expect(third.code).toBe(0);
    expect(lastRun(await readLedger(ledgerPath)).every((l) => l.status === 'skipped')).toBe(true);
  });

  test('a second run on the same ledger is refused while the first holds it', async () => {
    const dir = await tempDir();
    const csv = await writePeople(dir, people(1));
    const out = join(dir, 'avatars');
    // This test process is alive: its pid in the lock is a live holder.
    await mkdir(dirname(dirLedger(out)), { recursive: true });
    await writeFile(`${dirLedger(out)}.lock`, JSON.stringify({ pid: process.pid, host: hostname(), started: new Date().toISOString() }));

    const result = await runCli([csv, '--out', out, '--progress', 'off']);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(String(process.pid));
    expect(await avatarsIn(out)).toEqual([]);
  });
});
