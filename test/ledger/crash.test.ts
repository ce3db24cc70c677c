import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { Ledger } from '../../src/ledger/ledger.js';
import { readLines } from '../../src/ledger/read.js';
import { TARGET, okRow, startChild, withTempDir } from './support.js';

// A run killed with SIGKILL in the middle of appending: what it wrote is kept, at most one torn
// line is lost, its lock is taken over, and the next run appends cleanly.

const READY_AFTER = 300;

test('after kill -9 mid-run every complete line reads back and the next run appends cleanly', () =>
  withTempDir(async (dir) => {
    const path = join(dir, 'l.jsonl');
    const run = startChild('append-loop', [path, String(READY_AFTER)]);
    expect(await run.line()).toBe('ready');
    run.process.kill('SIGKILL');
    expect((await run.exited).signal).toBe('SIGKILL');

    // The dead run's lock is still there; opening takes it over.
    const ledger = await Ledger.open(path, {});
    const written = ledger.rowsIndexed;
    expect(written).toBeGreaterThanOrEqual(READY_AFTER);
    expect(ledger.damagedLines).toBeLessThanOrEqual(1);
    // Rows 1..written, none missing: lines are appended in order and only the last can be torn.
    for (const row of [1, READY_AFTER, written]) expect((await ledger.lookup(TARGET, `u${row}`)).held?.row).toBe(row);
    expect(await ledger.lookup(TARGET, `u${written + 1}`)).toEqual({});

    await ledger.append(okRow('after-crash', 1, { run: 'next-run' }));
    await ledger.close();

    const rows: number[] = [];
    let last: unknown;
    for await (const line of readLines(path)) {
      if (line.type === 'row' && line.run === 'killed-run') rows.push(line.row);
      last = line;
    }
    expect(rows).toEqual(Array.from({ length: written }, (_, i) => i + 1));
    expect(last).toEqual(okRow('after-crash', 1, { run: 'next-run' }));
    expect((await readFile(path, 'utf8')).endsWith('\n')).toBe(true);
  }));
