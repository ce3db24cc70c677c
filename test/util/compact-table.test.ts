import { CompactTable } from '../../src/util/compact-table.js';
import { fingerprint } from '../../src/util/fingerprint.js';

describe('CompactTable', () => {
  test('a million distinct keys go in and all come back with their values', () => {
    const table = new CompactTable();
    const n = 1_000_000;
    // Every 7th value needs float64 (a byte offset past 4 GiB), the rest fit uint32.
    const valueOf = (i: number): number => (i % 7 === 0 ? 2 ** 40 + i : i * 3);
    for (let i = 0; i < n; i++) table.set(`user${i}@example.com`, valueOf(i));
    expect(table.size).toBe(n);
    let wrong = 0;
    for (let i = 0; i < n; i++) if (table.get(`user${i}@example.com`) !== valueOf(i)) wrong++;
    expect(wrong).toBe(0);
    let found = 0;
    for (let i = 0; i < 10_000; i++) if (table.has(`user${i}@example.org`)) found++;
    expect(found).toBe(0);
  });

  test('setting a key again replaces its value and does not add a key', () => {
    const table = new CompactTable();
    table.set('ana', 1);
    table.set('ana', 2);
    expect(table.get('ana')).toBe(2);
    expect(table.size).toBe(1);
  });

  test('a key never set reads as undefined, also in an empty table', () => {
    const table = new CompactTable();
    expect(table.get('ana')).toBeUndefined();
    table.set('ana', 0);
    expect(table.get('bo')).toBeUndefined();
    expect(table.get('ana')).toBe(0);
  });

  test('every number comes back exactly, not only small integers', () => {
    const values = [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 53, -1, 0.5, -0, NaN, Infinity, -Infinity];
    const table = new CompactTable();
    values.forEach((value, i) => table.set(`k${i}`, value));
    values.forEach((value, i) => expect(Object.is(table.get(`k${i}`), value)).toBe(true));
  });

  test('keys that look alike are different keys', () => {
    const keys = ['', 'a', 'b', 'ab', 'ba', 'a ', ' a', 'A', '\u0000', '\u0000\u0000', '\ud83d', '\ude00', '😀', 'é', 'e\u0301', 'x'.repeat(10_000), 'x'.repeat(9_999) + 'y'];
    const table = new CompactTable();
    keys.forEach((key, i) => table.set(key, i));
    expect(table.size).toBe(keys.length);
    keys.forEach((key, i) => expect(table.get(key)).toBe(i));
  });

  test('an initial capacity is only a hint: the table grows past it', () => {
    const table = new CompactTable(4);
    for (let i = 0; i < 5_000; i++) table.set(String(i), i);
    for (let i = 0; i < 5_000; i++) expect(table.get(String(i))).toBe(i);
  });
});

describe('fingerprint', () => {
  const of = (first: string, second?: string): string => {
    const out = new Uint32Array(2);
    fingerprint(out, first, second);
    return `${out[0]}:${out[1]}`;
  };

  test('where a pair splits is part of what is hashed', () => {
    expect(of('dir:a', 'b')).not.toBe(of('dir:ab', ''));
    expect(of('ab', 'c')).not.toBe(of('a', 'bc'));
  });

  test('is a function of the characters only', () => {
    expect(of('ana')).toBe(of('an' + 'a'));
    expect(of('dir:x', 'ana')).toBe(of('dir:x', 'ana'));
  });
});
