import { appendFile, copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import fc from 'fast-check';

import { Ledger } from '../../../src/ledger/ledger.js';
import type { IntentLine, RowLine } from '../../../src/ledger/lines.js';
import { loadTrusted, trustedPath } from '../../../src/ledger/trusted-file.js';
import { compactLedger, rewriteLineByLine } from '../../../src/ledger/tools/compact.js';
import { TARGET, okRow, withTempDir } from '../support.js';
import { OTHER, end, run } from './fixture.js';

// Compaction takes on trust the lines this tool wrote itself (trusted-lines.ts): judged by their
// offsets, from what the run that wrote them, or the compaction that rewrote them, left beside
// the ledger. Whatever runs wrote (changes, skips, failures, row problems, intents pending and
// settled, runs killed before their end line, torn or foreign lines between runs, compactions
// between them), compacting on trust must keep exactly what compacting line by line keeps.

const T = (n: number): string => `2026-10-${String(n).padStart(2, '0')}T02:00:00.000Z`;
const json = (value: unknown): string => JSON.stringify(value);
/** Past the size from which the ledger leaves its index and trusted ranges beside it. */
const BASE_USERS = 10_000;

interface RowSpec {
  readonly user: string;
  readonly target: string;
  readonly status: 'ok' | 'skipped' | 'failed' | 'removed';
  readonly reason: string | undefined;
  readonly remote: boolean;
  readonly duplicate: boolean;
  /** An intent before it (settled by the row when the row holds a remote). */
  readonly intent: boolean;
}

interface RunSpec {
  readonly rows: readonly RowSpec[];
  /** Killed before its end line. */
  readonly killed: boolean;
  /** Written after it by something else (a hand edit, an older version, a torn line). */
  readonly foreign: string | null;
  /** Compacted after it, keeping this many runs. */
  readonly compact: number | null;
}

const rowSpec = fc.record({
  user: fc.constantFrom('user1', 'user2', 'user3', 'ana', 'zoë', ''),
  target: fc.constantFrom(TARGET, TARGET, OTHER),
  status: fc.constantFrom('ok', 'skipped', 'skipped', 'failed', 'removed'),
  reason: fc.constantFrom(undefined, undefined, 'dry_run', 'changed_by_user'),
  remote: fc.boolean(),
  duplicate: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  intent: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
});
const runSpec = fc.record({
  rows: fc.array(rowSpec, { maxLength: 12 }),
  killed: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
  foreign: fc.option(fc.constantFrom('{"type":"note","run":"x"}', '{"type":"row","ts":"2026-10-0', json({ ...okRow('user2', 2, { run: 'old' }), status: 'skipped' })), { freq: 4 }),
  compact: fc.option(fc.integer({ min: 0, max: 4 }), { freq: 3 }),
});

/** What a run appends through the ledger, as the pipeline does. */
async function write(path: string, id: string, night: number, spec: RunSpec): Promise<void> {
  const ledger = await Ledger.open(path, { autoCompact: false });
  await ledger.append(run(id, T(night)));
  let n = 0;
  for (const row of spec.rows) {
    n++;
    const line: RowLine = { ...okRow(row.user, n, { run: id, target: row.target, ts: T(night) }), status: row.status };
    if (row.reason !== undefined) line.reason = row.reason;
    if (!row.remote) delete line.remote;
    if (row.duplicate) line.error = { code: 'duplicate_user', message: 'twice' };
    if (row.intent) {
      const intent: IntentLine = { type: 'intent', ts: T(night), run: id, row: n, user: row.user, target: row.target, source: 'p.jpg', settings: 's', outputSha256: `o-${n}`, bytes: 10, remote: `${row.user}.jpg` };
      await ledger.append(intent);
    }
    ledger.enqueue(line);
  }
  if (!spec.killed) await ledger.append(end(id, 0, { ok: n }));
  await ledger.close();
  if (spec.foreign !== null) await appendFile(path, `${spec.foreign}\n`);
}

/** Compacts `path` on trust and a copy line by line: the same bytes (but the marker's time).
 * True when it compacted from the index (it did not give up and compact line by line). */
async function compactBoth(path: string, keepRuns: number): Promise<boolean> {
  const copy = `${path}.copy`;
  await copyFile(path, copy);
  await rewriteLineByLine(copy, keepRuns);
  const ledger = await Ledger.open(path, { autoCompact: false });
  const known = ledger.indexNow();
  await ledger.close();
  const { indexed } = await compactLedger(path, { keepRuns, index: known });
  const stamp = (s: string): string => s.replace(/"type":"compacted","at":"[^"]*"/g, '"type":"compacted","at":"…"');
  expect(stamp((await readFile(path)).toString('latin1'))).toBe(stamp((await readFile(copy)).toString('latin1')));
  return indexed === true;
}

describe('compaction on trust', () => {
  test('property: whatever runs wrote, compaction on trust keeps what line-by-line compaction keeps', async () => {
    let trustedCases = 0;
    let compactions = 0;
    let fromIndex = 0;
    const compact = async (path: string, keepRuns: number): Promise<void> => {
      compactions++;
      if (await compactBoth(path, keepRuns)) fromIndex++;
    };
    await fc.assert(
      fc.asyncProperty(fc.array(runSpec, { minLength: 1, maxLength: 5 }), fc.integer({ min: 0, max: 4 }), async (runs, keepRuns) =>
        withTempDir(async (dir) => {
          const path = join(dir, 'ledger.jsonl');
          // An import by an older version (not trusted), big enough for the ranges to be kept.
          const base = [json(run('base', T(1))), ...Array.from({ length: BASE_USERS }, (_, i) => json(okRow(`user${i}`, i + 1, { run: 'base' }))), json(end('base', 0, { ok: BASE_USERS }))];
          await writeFile(path, base.join('\n') + '\n');
          let trusted = false;
          for (const [i, spec] of runs.entries()) {
            await write(path, `r${i}`, i + 2, spec);
            const handle = await import('node:fs/promises').then(({ open }) => open(path, 'r'));
            trusted ||= (await loadTrusted(path, handle)).length > 0;
            await handle.close();
            if (spec.compact !== null) await compact(path, spec.compact);
          }
          await compact(path, keepRuns);
          if (trusted) trustedCases++;
        }),
      ),
      { numRuns: 40 },
    );
    // Most cases must have had lines taken on trust, or this tests nothing new.
    expect(trustedCases).toBeGreaterThan(25);
    // And it must not have given up (then compacting line by line, which is right but says nothing
    // of the lines taken on trust) but where a torn line leaves the index unsure.
    expect(fromIndex).toBeGreaterThan(compactions * 0.6);
  }, 120_000);

  test('a ledger edited since its ranges were written is not taken on trust', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'ledger.jsonl');
      await writeFile(path, [json(run('base', T(1))), ...Array.from({ length: BASE_USERS }, (_, i) => json(okRow(`user${i}`, i + 1, { run: 'base' }))), json(end('base', 0, {}))].join('\n') + '\n');
      await write(path, 'r1', 2, { rows: [{ user: 'user1', target: TARGET, status: 'skipped', reason: undefined, remote: true, duplicate: false, intent: false }], killed: false, foreign: null, compact: null });
      const handle = await import('node:fs/promises').then(({ open }) => open(path, 'r+'));
      expect((await loadTrusted(path, handle)).length).toBe(1);
      // Its last bytes rewritten in place (same length): the ranges no longer describe it.
      const { size } = await handle.stat();
      await handle.write(Buffer.from('x'), 0, 1, size - 3);
      expect(await loadTrusted(path, handle)).toEqual([]);
      await handle.close();
      // And a damaged file of ranges is none.
      await writeFile(trustedPath(path), 'avatar-import ledger trusted 1\n garbage');
      const again = await import('node:fs/promises').then(({ open }) => open(path, 'r'));
      expect(await loadTrusted(path, again)).toEqual([]);
      await again.close();
    }));
});
