import { copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import fc from 'fast-check';

import { indexPath } from '../../../src/ledger/index-file.js';
import { Ledger } from '../../../src/ledger/ledger.js';
import type { RowLine } from '../../../src/ledger/lines.js';
import type { SplitOptions } from '../../../src/ledger/tools/compact-from-index.js';
import { compactLedger, rewriteLineByLine, type CompactResult } from '../../../src/ledger/tools/compact.js';
import { TARGET, failedRow, okRow, withTempDir } from '../support.js';
import { OTHER, end, run } from './fixture.js';

// The compaction a closing run does from its index (compact-from-index.ts) against the one that
// parses every line (rewriteLineByLine): the same file, byte for byte, on ledgers holding every
// kind of line a ledger can hold: row problems, duplicates, intents pending and settled, lines of
// unknown types, torn and damaged lines, escapes, other encodings, runs killed before their end.

const T = (n: number): string => `2026-10-${String(n).padStart(2, '0')}T02:00:00.000Z`;
const json = (value: unknown): string => JSON.stringify(value);
const skipped = (user: string, row: number, extra: Partial<RowLine> = {}): RowLine => ({ ...okRow(user, row, extra), status: 'skipped', ...extra });

/** Twelve nights on a few users, then every odd line there is. */
function everyKind(): string[] {
  const lines: string[] = [];
  const users = ['ana', 'bo', 'cy', 'dee', 'zoë', '"quoted"', 'back\\slash'];
  for (let n = 1; n <= 12; n++) {
    const id = `n${n}`;
    lines.push(json(run(id, T(n))));
    users.forEach((user, i) => {
      const base = { run: id, ts: T(n) };
      if (n === 1 || (user === 'cy' && n % 4 === 0)) lines.push(json(okRow(user, i + 1, { ...base, outputSha256: `${user}-${n}`, remote: `${user}-${n}.jpg`, previous: `${user}-before` })));
      else if (user === 'dee' && n >= 9) lines.push(json(failedRow(user, i + 1, { ...base, error: { code: 'user_not_found', message: 'gone "away"', retryable: true } })));
      else if (user === 'bo' && n === 7) lines.push(json({ ...okRow(user, i + 1, base), status: 'removed', remote: '', previous: 'bo-7' }));
      else if (user === 'ana' && n === 12) lines.push(json(failedRow(user, i + 1, { ...base, error: { code: 'file_not_found', message: 'gone', retryable: true } })));
      else if (user === 'ana' && n === 10) lines.push(json(okRow(user, i + 1, { ...base, reason: 'dry_run', remote: undefined })));
      else lines.push(json(skipped(user, i + 1, base)));
    });
    // Row problems: an empty id, and ana twice in the CSV (her latest line, on the last nights, is
    // the duplicate: `status` reports the line before it, her failure on the last night, which is
    // neither her latest line nor her held one).
    lines.push(json(failedRow('', 90, { run: id, ts: T(n), error: { code: 'missing_value', message: 'empty id' } })));
    if (n >= 11) lines.push(json(failedRow('ana', 91, { run: id, ts: T(n), error: { code: 'duplicate_user', message: 'ana already appears on row 1' } })));
    // Night 5 and the last night were killed: no end line.
    if (n !== 5 && n !== 12) lines.push(json(end(id, 0, { ok: 1, skipped: users.length - 1 })));
  }
  lines.push(
    // Intents: pending (no row after), settled (a row holding the remote follows), malformed.
    json({ type: 'intent', ts: T(12), run: 'n12', row: 1, user: 'eve', target: TARGET, source: 'p.jpg', settings: 's', outputSha256: 'eve-out', bytes: 10, remote: 'eve.jpg' }),
    json({ type: 'intent', ts: T(12), run: 'n12', row: 2, user: 'bo', target: TARGET, source: 'p.jpg', settings: 's', outputSha256: 'bo-out', bytes: 10, remote: 'bo.jpg' }),
    json(okRow('bo', 2, { run: 'n12', ts: T(12), outputSha256: 'bo-out', remote: 'bo.jpg' })),
    // (A malformed one, no outputSha256: kept as a line of unknown shape. Settled, as one left
    // pending would make the index and a parse disagree: see the test on giving up.)
    json({ type: 'intent', run: 'n12', user: 'fay', target: TARGET, remote: 'fay.jpg' }),
    json(okRow('fay', 3, { run: 'n12', ts: T(12), remote: 'fay.jpg' })),
    json({ type: 'intent', run: 'n12', user: 'gus', remote: 'gus.jpg' }),
    json({ type: 'intent', ts: T(12), run: 'n12', user: 'h\u00e9l\u00e8ne', target: OTHER, outputSha256: 'h', bytes: 1, remote: 'mxc://h' }),
    // Another target, a user with a non-ASCII id.
    json(run('m1', T(12), OTHER)),
    json(okRow('@zoë:example.org', 1, { run: 'm1', ts: T(12), target: OTHER, previous: 'mxc://old' })),
    json(failedRow('@bo:example.org', 2, { run: 'm1', ts: T(12), target: OTHER, error: { code: 'user_not_found', message: 'no such user', retryable: true } })),
    // Types this version does not know, an old marker, and damage.
    '{"type":"note","run":"n12","text":"caf\u00e9 \\"au lait\\""}',
    '{"type":"compacted","at":"2026-10-01T00:00:00.000Z","keepRuns":10,"rows":3}',
    '{"type":"row","ts":"2026-10-12T0',
    'not json at all',
    '[1,2,3]',
    '42',
    '{}',
    '{"type":5,"user":"x"}',
    '{"type":"row","run":"n12","user":"nobody"}',
    '{"type":"end","run":"n5"}',
    // Well-formed, but not as JSON.stringify writes it: spaces, a tab, CRLF, duplicate keys,
    // escaped keys and values, nested values, numbers in every form.
    `  ${json(skipped('ivy', 20, { run: 'n12', ts: T(12) }))}`,
    `${json(skipped('jay', 21, { run: 'n12', ts: T(12) }))}\r`,
    `{ "type" : "row", "run":"n12","user":"kim","target":"${TARGET}",\t"status":"skipped","status":"ok","remote":"k.jpg","outputSha256":"k","bytes":1.5e3}`,
    `{"t\\u0079pe":"row","run":"n12","user":"l\\u00e9o","target":"${TARGET}","status":"ok","remote":"l.jpg","meta":{"a":[1,-0.5,{"b":null}],"c":true}}`,
    `{"type":"row","run":"n12","user":"mo","target":"${TARGET}","status":"ok","remote":null}`,
    `{"type":"row","run":"n12","user":"ned","target":"${TARGET}","status":7}`,
    `{"type":"row","run":"n12","user":"oz","target":"${TARGET}"}`,
    `{"type":"row","user":"pia","target":"${TARGET}","status":"ok"}`,
    `{"type":"row","run":"n12","user":"quin","target":"${TARGET}","status":"ok","error":{"code":"duplicate_user"}}`,
  );
  return lines;
}

/** A night of `users` users (user0, user1, …) that all got `status`: its run line and rows. */
function night(users: number, id: string, status: 'ok' | 'skipped'): string[] {
  return [json(run(id, T(1))), ...Array.from({ length: users }, (_, i) => json({ ...okRow(`user${i}`, i + 1, { run: id }), status }))];
}

/** The index file beside `path` is, byte for byte, the one a scan of the file leaves. */
async function expectIndexOfAScan(path: string): Promise<void> {
  const written = await readFile(indexPath(path));
  await rm(indexPath(path));
  await (await Ledger.open(path, { autoCompact: false })).close(); // scans, and leaves its index
  expect((await readFile(indexPath(path))).equals(written)).toBe(true);
}

async function compactBoth(dir: string, text: string | Buffer, keepRuns: number, ioBytes?: number, split?: SplitOptions): Promise<{ reference: CompactResult; fast: CompactResult; expected: string; got: string }> {
  const [a, b] = [join(dir, 'a.jsonl'), join(dir, 'b.jsonl')];
  await writeFile(a, text);
  await copyFile(a, b);
  const reference = await rewriteLineByLine(a, keepRuns);
  // As a run closing the ledger does: with the index it holds.
  const ledger = await Ledger.open(b, { autoCompact: false });
  const known = ledger.indexNow();
  await ledger.close();
  const fast = await compactLedger(b, { keepRuns, index: known, ...(ioBytes === undefined ? {} : { ioBytes }), ...(split === undefined ? {} : { split }) });
  const stamp = (s: string): string => s.replace(/"type":"compacted","at":"[^"]*"/, '"type":"compacted","at":"…"');
  return { reference, fast, expected: stamp((await readFile(a)).toString('latin1')), got: stamp((await readFile(b)).toString('latin1')) };
}

describe('compaction from the index', () => {
  test.each([0, 1, 3, 10])('keeps exactly what line-by-line compaction keeps, byte for byte (--keep-runs %i)', (keepRuns) =>
    withTempDir(async (dir) => {
      const { reference, fast, expected, got } = await compactBoth(dir, everyKind().join('\n') + '\n', keepRuns);
      expect(fast.indexed).toBe(true); // it did not give up
      expect(got).toBe(expected);
      expect(fast.after).toEqual(reference.after);
      expect(fast.before).toEqual(reference.before);
      expect(fast.runs).toBe(reference.runs);
    }));

  test('a file that is not UTF-8 throughout: the same bytes (invalid ones become U+FFFD, as when parsed)', () =>
    withTempDir(async (dir) => {
      const text = everyKind().join('\n') + '\n';
      const bytes = Buffer.concat([Buffer.from(text), Buffer.from(json(okRow('x', 1, { run: 'n12', source: 'ph\u00f6to.jpg' })).replace('\u00f6', '\uFFFF') + '\n'), Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a])]);
      bytes[bytes.indexOf('ph') + 2] = 0xc3; // a lone lead byte inside a kept line
      const { fast, expected, got } = await compactBoth(dir, bytes, 10);
      expect(fast.indexed).toBe(true);
      expect(got).toBe(expected);
    }));

  test('a damaged line the index took for a row (the scan does not check numbers): it gives up, and the line-by-line compaction runs', () =>
    withTempDir(async (dir) => {
      const damaged = `{"type":"row","run":"n12","row":01,"user":"ana","target":"${TARGET}","status":"ok","remote":"a.jpg"}`;
      const { fast, expected, got } = await compactBoth(dir, [...everyKind(), damaged].join('\n') + '\n', 10);
      expect(fast.indexed).toBeUndefined();
      expect(got).toBe(expected);
    }));

  test('an index that does not describe the file is not used', () =>
    withTempDir(async (dir) => {
      const [a, b] = [join(dir, 'a.jsonl'), join(dir, 'b.jsonl')];
      await writeFile(a, everyKind().join('\n') + '\n');
      await writeFile(b, everyKind().slice(3).join('\n') + '\n');
      const other = await Ledger.open(a, { autoCompact: false });
      const wrong = other.indexNow();
      await other.close();
      const ledger = await Ledger.open(b, { autoCompact: false });
      const size = ledger.indexNow().size;
      await ledger.close();
      const result = await compactLedger(b, { keepRuns: 10, index: { offsets: wrong.offsets, size } });
      expect(result.indexed).toBeUndefined();
      await writeFile(a, everyKind().slice(3).join('\n') + '\n');
      await rewriteLineByLine(a, 10);
      const stamp = (s: string): string => s.replace(/"at":"[^"]*"/, '');
      expect(stamp(await readFile(b, 'utf8'))).toBe(stamp(await readFile(a, 'utf8')));
    }));

  test('a run that compacts as it closes leaves the index a scan of the new file would leave, byte for byte', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'ledger.jsonl');
      await writeFile(path, [...night(12_000, 'n1', 'ok'), ...night(12_000, 'n2', 'skipped'), ...night(12_000, 'n3', 'skipped')].join('\n') + '\n');
      const ledger = await Ledger.open(path, { autoCompact: { minRows: 0, keepRuns: 1 } });
      await ledger.close();
      expect(ledger.compaction?.result?.indexed).toBe(true);
      await expectIndexOfAScan(path);
    }));

  test('read and written a few KB at a time, lines crossing every read and write: the same bytes and the same index', () =>
    withTempDir(async (dir) => {
      const text = [...night(11_000, 'n1', 'ok'), ...night(11_000, 'n2', 'skipped'), ...night(11_000, 'n3', 'skipped')].join('\n') + '\n';
      const { expected, got } = await compactBoth(dir, text, 1, 4093);
      expect(got).toBe(expected);
      await expectIndexOfAScan(join(dir, 'b.jsonl'));
    }));

  test('property: on any mix of lines, the same bytes as line by line', async () => {
    const users = fc.constantFrom('ana', 'bo', '', 'zoë', 'q"uote', 'b\\s', '日本');
    const targets = fc.constantFrom(TARGET, OTHER);
    const runs = fc.constantFrom('r1', 'r2', 'r3', 'r4', 'r5');
    const row = fc.record({
      user: users, target: targets, run: runs,
      status: fc.constantFrom('ok', 'skipped', 'failed', 'removed'),
      reason: fc.constantFrom(undefined, 'dry_run', 'changed_by_user'),
      remote: fc.boolean(), duplicate: fc.boolean(), spaced: fc.boolean(),
    }).map(({ user, target, run: id, status, reason, remote, duplicate, spaced }) => {
      const line: RowLine = { ...okRow(user, 1, { run: id, target }), status, ...(reason === undefined ? {} : { reason }) };
      if (!remote) delete line.remote;
      if (duplicate) line.error = { code: 'duplicate_user', message: 'twice' };
      return spaced ? json(line).replace('"status":', '"status" : ') : json(line);
    });
    const intent = fc.record({ user: users, target: targets, whole: fc.integer({ min: 0, max: 9 }).map((n) => n > 0) }).map(({ user, target, whole }) =>
      json(whole ? { type: 'intent', run: 'r5', user, target, outputSha256: `${user}-o`, bytes: 5, remote: `${user}.jpg` } : { type: 'intent', run: 'r5', user, target }));
    const other = fc.oneof(
      runs.map((id) => json(run(id, T(1)))),
      runs.map((id) => json(end(id, 0, { ok: 1 }))),
      fc.constantFrom('{"type":"note"}', '{"type":"compacted","rows":1}', 'junk', '{"type":"row","run":"r1","us', '{}', '[]', '"row"'),
      fc.string({ maxLength: 12 }).filter((s) => !s.includes('\n')),
    );
    const line = fc.oneof({ arbitrary: row, weight: 6 }, { arbitrary: intent, weight: 2 }, { arbitrary: other, weight: 2 });
    let fast = 0;
    let runsDone = 0;
    await withTempDir(async (dir) => {
      await fc.assert(
        // Reads and writes of a few bytes too: lines cross them, and longer ones outgrow them.
        fc.asyncProperty(fc.array(line, { maxLength: 40 }), fc.integer({ min: 0, max: 4 }), fc.constantFrom(undefined, 16, 61, 200), async (lines, keepRuns, ioBytes) => {
          const result = await compactBoth(dir, lines.map((l) => `${l}\n`).join(''), keepRuns, ioBytes);
          runsDone++;
          if (result.fast.indexed === true) fast++;
          expect(result.got).toBe(result.expected);
        }),
        { numRuns: 150 },
      );
    });
    // Random strings may make it give up now and then; nearly every case must not.
    expect(fast).toBeGreaterThan(runsDone * 0.8);
  });

  // A big ledger is judged in two halves at once, the second by a worker thread; the halves'
  // findings joined must be what one walk finds: runs that span both halves, a target's latest run
  // in either, row problems and pending intents on either side, line numbers past the first half.
  test.each([0, 1, 3, 10])('judged in two halves in this thread: the same bytes as line by line (--keep-runs %i)', (keepRuns) =>
    withTempDir(async (dir) => {
      const text = everyKind().join('\n') + '\n';
      for (const bytes of [1, Math.floor(text.length / 3), text.length - 200]) {
        const { fast, expected, got } = await compactBoth(dir, text, keepRuns, undefined, { bytes, worker: false });
        expect(fast.indexed).toBe(true);
        expect(fast.judgedBy).toBe('main');
        expect(got).toBe(expected);
      }
    }));

  test('judged in two halves, the second by a worker thread: the same bytes, and the index a scan of the new file leaves', () =>
    withTempDir(async (dir) => {
      const ended = (id: string, status: 'ok' | 'skipped'): string[] => [...night(11_000, id, status), json(end(id, 0, { [status]: 11_000 }))];
      // The last night never ended: its counts come from rows on both sides of the middle.
      const text = [...ended('n1', 'ok'), ...ended('n2', 'skipped'), ...everyKind(), ...night(11_000, 'n3', 'skipped')].join('\n') + '\n';
      for (const keepRuns of [1, 10]) {
        const { fast, expected, got } = await compactBoth(dir, text, keepRuns, 4093, { bytes: 1, worker: true });
        expect(fast.indexed).toBe(true);
        expect(fast.judgedBy).toBe('main+worker');
        expect(got).toBe(expected);
        await expectIndexOfAScan(join(dir, 'b.jsonl'));
      }
    }));

  test('property: split anywhere, the same bytes as line by line', async () => {
    const users = fc.constantFrom('ana', 'bo', '', 'zoë');
    const targets = fc.constantFrom(TARGET, OTHER);
    const runs = fc.constantFrom('r1', 'r2', 'r3', 'r4');
    const row = fc.record({ user: users, target: targets, run: runs, status: fc.constantFrom('ok', 'skipped', 'failed', 'removed'), remote: fc.boolean(), duplicate: fc.boolean() }).map(({ user, target, run: id, status, remote, duplicate }) => {
      const line: RowLine = { ...okRow(user, 1, { run: id, target }), status };
      if (!remote) delete line.remote;
      if (duplicate) line.error = { code: 'duplicate_user', message: 'twice' };
      return json(line);
    });
    const intent = fc.record({ user: users, target: targets }).map(({ user, target }) => json({ type: 'intent', run: 'r4', user, target, outputSha256: `${user}-o`, bytes: 5, remote: `${user}.jpg` }));
    const other = fc.oneof(runs.map((id) => json(run(id, T(1)))), runs.map((id) => json(end(id, 0, { ok: 1 }))), fc.constantFrom('{"type":"note"}', 'junk'));
    const line = fc.oneof({ arbitrary: row, weight: 6 }, { arbitrary: intent, weight: 1 }, { arbitrary: other, weight: 2 });
    await withTempDir(async (dir) => {
      await fc.assert(
        fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 40 }), fc.integer({ min: 0, max: 3 }), fc.double({ min: 0, max: 1, noNaN: true }), async (lines, keepRuns, where) => {
          const text = lines.map((l) => `${l}\n`).join('');
          // Split at `where` of the file (the middle of whatever file is that long or longer).
          const bytes = Math.max(1, Math.round(2 * where * Buffer.byteLength(text)));
          const result = await compactBoth(dir, text, keepRuns, undefined, { bytes: Math.min(bytes, Buffer.byteLength(text)), worker: false });
          expect(result.got).toBe(result.expected);
        }),
        {
          numRuns: 150,
          // Found by this property: a run's statuses counted per target came out in another order
          // in the end line compaction writes for it (removed, ok, skipped instead of removed,
          // skipped, ok).
          examples: [
            [[json({ ...okRow('ana', 1, { run: 'r3', target: OTHER }), status: 'removed' }), json({ ...okRow('ana', 1, { run: 'r3' }), status: 'skipped' }), json(okRow('ana', 1, { run: 'r3', target: OTHER })), json(run('r3', T(1))), json(okRow('ana', 1, { run: 'r1' }))], 0, 0],
          ],
        },
      );
    });
  });
});
