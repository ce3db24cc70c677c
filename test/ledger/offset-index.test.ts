import fc from 'fast-check';

import { OffsetIndex, type RowOffsets } from '../../src/ledger/offset-index.js';

// The index against the plainest model of what it answers: per key, the offsets of the latest row
// line, the latest row line with `remote`, and the latest intent, which is pending while no row
// line with `remote` follows it. Lines come in file order, as the ledger reads and appends them.

type Line = { readonly user: string; readonly kind: 'held' | 'plain' | 'intent'; readonly length: number };

class Model {
  readonly keys = new Map<string, { latest?: number; held?: number; intent?: number }>();
  add(user: string, kind: Line['kind'], offset: number): void {
    const key = this.keys.get(user) ?? {};
    if (kind === 'intent') key.intent = offset;
    else {
      key.latest = offset;
      if (kind === 'held') key.held = offset;
    }
    this.keys.set(user, key);
  }
  find(user: string): RowOffsets | undefined {
    const key = this.keys.get(user);
    if (key === undefined) return undefined;
    const pending = key.intent !== undefined && (key.held === undefined || key.intent > key.held);
    return { latest: key.latest, held: key.held, intent: pending ? key.intent : undefined };
  }
  liveLines(): number {
    let lines = 0;
    for (const user of this.keys.keys()) {
      const { latest, held, intent } = this.find(user)!;
      if (latest !== undefined) lines += held !== undefined && held !== latest ? 2 : 1;
      if (intent !== undefined) lines++;
    }
    return lines;
  }
}

const TARGET = 'dir:/srv/avatars';
const lines = fc.array(
  fc.record({ user: fc.constantFrom('ana', 'bo', 'cy', 'di', 'ed'), kind: fc.constantFrom('held', 'plain', 'intent'), length: fc.integer({ min: 1, max: 2 ** 31 }) }),
  { maxLength: 60 },
) as fc.Arbitrary<Line[]>;

/** Feeds the lines at growing offsets (past 4 GiB too) to an index and a model. */
function fill(feed: readonly Line[]): { index: OffsetIndex; model: Model } {
  const index = new OffsetIndex();
  const model = new Model();
  let offset = 0;
  for (const { user, kind, length } of feed) {
    if (kind === 'intent') index.recordIntent(TARGET, user, offset);
    else index.record(TARGET, user, offset, kind === 'held');
    model.add(user, kind, offset);
    offset += length;
  }
  return { index, model };
}

/** What exportKeys wrote, read into a new index. */
function copied(index: OffsetIndex): OffsetIndex {
  const keys = new Float64Array(index.size * 5);
  index.exportKeys(0, index.size, keys);
  const copy = new OffsetIndex();
  copy.importKeys(keys, index.size);
  return copy;
}

describe('OffsetIndex', () => {
  test('answers where the latest, held and pending intent lines of a key are (against a model)', () => {
    fc.assert(
      fc.property(lines, (feed) => {
        const { index, model } = fill(feed);
        for (const user of ['ana', 'bo', 'cy', 'di', 'ed', 'fay']) expect(index.find(TARGET, user)).toEqual(model.find(user));
        expect(index.size).toBe(model.keys.size);
        expect(index.liveLines()).toBe(model.liveLines());
      }),
    );
  });

  test('exported and imported (the index file), it answers the same, and still does as lines follow', () => {
    fc.assert(
      fc.property(lines, lines, (before, after) => {
        const { index } = fill(before);
        const copy = copied(index);
        for (const user of ['ana', 'bo', 'cy', 'di', 'ed']) expect(copy.find(TARGET, user)).toEqual(index.find(TARGET, user));
        expect(copy.liveLines()).toBe(index.liveLines());
        // The same lines after, at the same offsets, on both.
        let offset = 2 ** 33;
        for (const { user, kind, length } of after) {
          for (const each of [index, copy]) {
            if (kind === 'intent') each.recordIntent(TARGET, user, offset);
            else each.record(TARGET, user, offset, kind === 'held');
          }
          offset += length;
        }
        for (const user of ['ana', 'bo', 'cy', 'di', 'ed']) expect(copy.find(TARGET, user)).toEqual(index.find(TARGET, user));
      }),
    );
  });

  test('an index file from before settled intents were forgotten (one kept after its held line) reads as settled', () => {
    const keys = new Float64Array(5);
    const written = new OffsetIndex();
    written.recordIntent(TARGET, 'ana', 100);
    written.record(TARGET, 'ana', 200, true);
    written.exportKeys(0, 1, keys);
    expect(keys[4]).toBe(0);
    keys[4] = 101; // what the earlier version wrote: the intent's offset + 1, below the held line's
    const index = new OffsetIndex();
    index.importKeys(keys, 1);
    expect(index.find(TARGET, 'ana')).toEqual({ latest: 200, held: 200, intent: undefined });
    expect(index.liveLines()).toBe(1);
  });

  test('200 000 keys of an import ledger (every latest line held), then a failure for a few', () => {
    const index = new OffsetIndex();
    const n = 200_000;
    for (let i = 0; i < n; i++) index.record(TARGET, `user${i}`, i * 700, true);
    for (let i = 0; i < n; i += 1000) index.record(TARGET, `user${i}`, n * 700 + i, false);
    expect(index.size).toBe(n);
    let wrong = 0;
    for (let i = 0; i < n; i++) {
      const found = index.find(TARGET, `user${i}`)!;
      const latest = i % 1000 === 0 ? n * 700 + i : i * 700;
      if (found.latest !== latest || found.held !== i * 700 || found.intent !== undefined) wrong++;
    }
    expect(wrong).toBe(0);
    expect(index.liveLines()).toBe(n + n / 1000);
  });
});
