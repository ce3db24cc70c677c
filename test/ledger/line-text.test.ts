import fc from 'fast-check';

import { repeatedLineText } from '../../src/ledger/line-text.js';
import type { RowLine } from '../../src/ledger/lines.js';

/** A row line as the pipeline builds it (its fields in that order). */
function skipLine(user: string, row: number, changes: Partial<RowLine> = {}): RowLine {
  return {
    type: 'row', ts: '2026-11-30T02:00:00.000Z', run: '2026-11-30T0200Z-123456', row, line: row + 1, user, target: 'dir:/srv/avatars',
    source: `/photos/${row}.jpg`, settings: 's512-q85', sourceSize: 1000 + row, sourceMtimeMs: 1_796_085_072_836.5852,
    sourceSha256: 'a'.repeat(64), status: 'skipped', outputSha256: 'b'.repeat(64), bytes: 4000 + row, edge: 512, quality: 85,
    remote: 'c'.repeat(64), stamp: 1_796_085_103_528, ...changes,
  };
}

/** The line a nightly run writes for an unchanged row: the previous one, later and elsewhere. */
function again(previous: RowLine, changes: Partial<RowLine> = {}): RowLine {
  return { ...previous, ts: '2026-12-01T02:00:00.000Z', run: '2026-12-01T0200Z-abcdef', row: previous.row + 1, line: previous.line! + 1, ...changes };
}

describe('repeatedLineText', () => {
  test('a line that repeats the previous one but for when, which run and which CSV row: its JSON, from the previous text', () => {
    const previous = skipLine('jane.doe@example.org', 41, { stamp: 1_796_085_103_528.25, source: '/photos/"quoted" é\\x.jpg' });
    const line = again(previous);
    expect(repeatedLineText(line, previous, JSON.stringify(previous))).toBe(JSON.stringify(line));
  });

  test('anything else that differs, or is an object, is serialised as usual (undefined)', () => {
    const previous = skipLine('ana', 1);
    const text = JSON.stringify(previous);
    expect(repeatedLineText(again(previous, { status: 'ok' }), previous, text)).toBeUndefined();
    expect(repeatedLineText(again(previous, { sourceMtimeMs: previous.sourceMtimeMs! + 0.5 }), previous, text)).toBeUndefined();
    const { remote, ...withoutRemote } = again(previous);
    void remote;
    expect(repeatedLineText(withoutRemote as RowLine, previous, text)).toBeUndefined();
    const failed = skipLine('ana', 1, { status: 'failed', error: { code: 'corrupt_image', message: 'x' } });
    expect(repeatedLineText(again(failed), failed, JSON.stringify(failed))).toBeUndefined();
    // Same fields, another order.
    const { user, ...rest } = again(previous);
    expect(repeatedLineText({ ...rest, user } as RowLine, previous, text)).toBeUndefined();
  });

  test('the first night after an import: an ok line repeated as skipped, in the ok line\'s field order, is reused too', () => {
    // The pipeline writes `ok` lines as …quality, status, remote, stamp and skip lines in that order.
    const { status, remote, stamp, ...head } = skipLine('jane.doe@example.org', 7, { source: '/photos/"ok" ,"status":"ok".jpg' });
    void status;
    const ok = { ...head, status: 'ok', remote, stamp } as RowLine;
    const text = JSON.stringify(ok);
    const skipped = again(ok, { status: 'skipped' });
    expect(repeatedLineText(skipped, JSON.parse(text) as RowLine, text)).toBe(JSON.stringify(skipped));
    // Only that way round, and only that status.
    expect(repeatedLineText(again(skipped, { status: 'ok' }), skipped, JSON.stringify(skipped))).toBeUndefined();
    expect(repeatedLineText(again(ok, { status: 'failed' }), ok, text)).toBeUndefined();
    expect(repeatedLineText(again(ok, { status: 'removed' }), ok, text)).toBeUndefined();
  });

  test('never gives a text other than JSON.stringify of the line, whatever the statuses (fuzzed)', () => {
    const status = fc.constantFrom('ok', 'skipped', 'failed', 'removed', 'ok"', '"ok"', undefined);
    const value = fc.oneof(fc.string(), fc.constantFrom(',"status":"ok"', '\\",\\"status\\":\\"ok'), fc.integer(), fc.constant(null));
    const fields = fc.dictionary(fc.constantFrom('source', 'remote', 'reason', 'bytes'), value);
    let reused = 0;
    fc.assert(
      // Half the cases are the first night's own (ok, then skipped), so that reuse is common.
      fc.property(status, status, fields, fc.boolean(), fc.boolean(), fc.boolean(), (a, b, f, late1, late2, firstNight) => {
        const [s1, s2] = firstNight ? ['ok', 'skipped'] : [a, b];
        const build = (s: string | undefined, late: boolean): RowLine => {
          const line: Record<string, unknown> = { type: 'row', ts: 't', run: 'r', row: 1, line: 2, user: 'u"s,"status":"ok"' };
          if (!late) line.status = s;
          Object.assign(line, f);
          if (late) line.status = s;
          return line as unknown as RowLine;
        };
        const previous = build(s1, late1);
        const line = { ...build(s2, late2), ts: 't2', run: 'r2', row: 3, line: 4 } as RowLine;
        const text = JSON.stringify(previous);
        const out = repeatedLineText(line, JSON.parse(text) as RowLine, text);
        if (out !== undefined && s1 !== s2) reused++;
        return out === undefined || out === JSON.stringify(line);
      }),
      { numRuns: 5000 },
    );
    expect(reused).toBeGreaterThan(500);
  });

  test('never gives a text other than JSON.stringify of the line (fuzzed)', () => {
    const value = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.record({ code: fc.string() }));
    const fields = fc.dictionary(fc.constantFrom('source', 'settings', 'status', 'remote', 'stamp', 'bytes', 'user', 'target', 'x"y', '__proto__'), value);
    const head = fc.record({ ts: fc.string(), run: fc.string(), row: fc.oneof(fc.integer(), fc.double()), line: fc.integer() });
    let reused = 0;
    fc.assert(
      fc.property(head, head, fields, fields, fc.boolean(), (h1, h2, f1, f2, share) => {
        const previous = { type: 'row', ...h1, user: 'u', ...f1 } as unknown as RowLine;
        const line = { type: 'row', ...h2, user: 'u', ...(share ? f1 : f2) } as unknown as RowLine;
        const text = JSON.stringify(previous);
        const parsed = JSON.parse(text) as RowLine;
        const out = repeatedLineText(line, parsed, text);
        if (out !== undefined) reused++;
        return out === undefined || out === JSON.stringify(line);
      }),
      { numRuns: 5000 },
    );
    // Not a test that passes by never answering.
    expect(reused).toBeGreaterThan(100);
  });
});
