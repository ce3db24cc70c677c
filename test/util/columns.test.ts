import fc from 'fast-check';

import { BitColumn } from '../../src/util/bit-column.js';
import { NarrowColumn } from '../../src/util/narrow-column.js';
import { SparseColumn } from '../../src/util/sparse-column.js';

// Each column against a Map of what was set: ids from several chunks (16 384 ids each), in any
// order, set again, and read back everywhere, set or not.

const ID = fc.nat({ max: 70_000 });
const same = (a: number, b: number): boolean => Object.is(a, b);

describe('SparseColumn', () => {
  const values = fc.oneof(fc.constant(0), fc.nat({ max: 2 ** 32 - 1 }), fc.double({ noNaN: true }).filter((v) => !Object.is(v, -0)));

  test('reads back what was set, 0 where nothing was (against a Map)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(ID, values), { maxLength: 300 }), fc.array(ID, { maxLength: 100 }), (sets, asked) => {
        const column = new SparseColumn();
        const model = new Map<number, number>();
        for (const [id, value] of sets) {
          column.set(id, value);
          model.set(id, value);
        }
        for (const id of [...model.keys(), ...asked]) expect(same(column.get(id), model.get(id) ?? 0)).toBe(true);
      }),
    );
  });

  test('a chunk with many values (past the point it turns dense) keeps them all, fractions set before and after', () => {
    const column = new SparseColumn();
    column.set(7, 2 ** 40 + 0.5);
    for (let id = 0; id < 16_384; id += 3) column.set(id, id + 1);
    column.set(8, -5.25);
    column.set(9, 0);
    const expected = (id: number): number => (id === 7 ? 2 ** 40 + 0.5 : id === 8 ? -5.25 : id % 3 === 0 && id !== 9 ? id + 1 : 0);
    for (let id = 0; id < 16_384; id++) if (column.get(id) !== expected(id)) throw new Error(`id ${id}: ${column.get(id)}, not ${expected(id)}`);
  });
});

describe('BitColumn', () => {
  test('reads back what was set, false where nothing was (against a Set)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(ID, fc.boolean()), { maxLength: 300 }), fc.array(ID, { maxLength: 100 }), (sets, asked) => {
        const column = new BitColumn();
        const model = new Set<number>();
        for (const [id, on] of sets) {
          column.set(id, on);
          if (on) model.add(id);
          else model.delete(id);
        }
        for (const [id] of sets) expect(column.get(id)).toBe(model.has(id));
        for (const id of asked) expect(column.get(id)).toBe(model.has(id));
      }),
    );
  });

  test('neighbouring bits are independent (the 32 of a word, and across words)', () => {
    const column = new BitColumn();
    for (let id = 0; id < 100; id += 2) column.set(id, true);
    column.set(31, true);
    column.set(32, false);
    for (let id = 0; id < 100; id++) expect(column.get(id)).toBe((id % 2 === 0 && id !== 32) || id === 31);
  });
});

describe('NarrowColumn', () => {
  // Values near their id (row numbers met in order), far from it, and anything at all.
  const near = (spread: number) => fc.tuple(ID, fc.integer({ min: -spread, max: spread })).map(([id, d]) => [id, Math.max(0, id + 1000 + d)] as const);
  const anything = fc.tuple(ID, fc.oneof(fc.double(), fc.integer(), fc.constant(-0), fc.constant(0), fc.nat({ max: 2 ** 32 - 1 }), fc.constant(2 ** 53)));
  const sets = fc.array(fc.oneof(near(100), near(30_000), near(2 ** 31), anything), { maxLength: 300 });

  test('reads back exactly what was set (-0, NaN and fractions too), 0 where nothing was (against a Map)', () => {
    fc.assert(
      fc.property(sets, fc.array(ID, { maxLength: 100 }), (sets, asked) => {
        const column = new NarrowColumn();
        const model = new Map<number, number>();
        for (const [id, value] of sets) {
          column.set(id, value);
          model.set(id, value);
        }
        for (const id of [...model.keys(), ...asked]) expect(same(column.get(id), model.get(id) ?? 0)).toBe(true);
      }),
    );
  });

  test('rows met in order, with gaps, then one far off and one fraction in the same chunk: all come back', () => {
    const column = new NarrowColumn();
    const rowOf = (id: number): number => 2 + id + Math.floor(id / 50);
    for (let id = 0; id < 40_000; id++) column.set(id, rowOf(id));
    column.set(100, 5_000_000);
    column.set(101, 0.25);
    for (let id = 0; id < 40_000; id++) {
      const expected = id === 100 ? 5_000_000 : id === 101 ? 0.25 : rowOf(id);
      if (column.get(id) !== expected) throw new Error(`id ${id}: ${column.get(id)}, not ${expected}`);
    }
  });
});
