import fc from 'fast-check';

import { FingerprintSlots } from '../../src/util/fingerprint-slots.js';

/** A fingerprint as the model's key. */
const keyOf = (hi: number, lo: number): string => `${hi}:${lo}`;

const fingerprints = fc.array(fc.tuple(fc.nat({ max: 2 ** 32 - 1 }), fc.nat({ max: 2 ** 32 - 1 })), { maxLength: 400 });

describe('FingerprintSlots', () => {
  test('gives each new fingerprint the next id, the same id again, and -1 for one never added (against a Map)', () => {
    fc.assert(
      fc.property(fingerprints, fingerprints, (added, asked) => {
        const slots = new FingerprintSlots();
        const model = new Map<string, number>();
        for (const [hi, lo] of added) {
          const key = keyOf(hi, lo);
          const expected = model.get(key) ?? model.size;
          model.set(key, expected);
          expect(slots.add(hi, lo)).toBe(expected);
        }
        expect(slots.size).toBe(model.size);
        for (const [hi, lo] of [...added, ...asked]) expect(slots.find(hi, lo)).toBe(model.get(keyOf(hi, lo)) ?? -1);
        const out = new Uint32Array(2);
        for (const [key, id] of model) {
          slots.fingerprintOf(id, out);
          expect(keyOf(out[0]!, out[1]!)).toBe(key);
        }
      }),
    );
  });

  test('fingerprints that share a home slot, or even the tag beside the id, are still told apart', () => {
    // Same hi: the same home slot at every capacity. Same top bits of lo: the same tag as well.
    const slots = new FingerprintSlots();
    const n = 5_000;
    for (let i = 0; i < n; i++) expect(slots.add(0x8000_0000, i)).toBe(i);
    for (let i = 0; i < n; i++) expect(slots.find(0x8000_0000, i)).toBe(i);
    expect(slots.find(0x8000_0000, n)).toBe(-1);
    expect(slots.find(0x7fff_ffff, 0)).toBe(-1);
  });

  test('the extremes of both halves are ordinary fingerprints (the last home slot wraps to the first)', () => {
    const slots = new FingerprintSlots();
    const extremes = [0, 1, 2 ** 31, 2 ** 32 - 1];
    let id = 0;
    for (const hi of extremes) for (const lo of extremes) expect(slots.add(hi, lo)).toBe(id++);
    id = 0;
    for (const hi of extremes) for (const lo of extremes) expect(slots.find(hi, lo)).toBe(id++);
  });

  test('keeps every key through many growths, with or without room reserved ahead', () => {
    for (const reserved of [0, 50_000, 300_000]) {
      const slots = new FingerprintSlots();
      slots.reserve(reserved);
      const n = 200_000;
      // A cheap, well-spread sequence of distinct fingerprints (multiplicative hashing).
      const hi = (i: number): number => Math.imul(i, 0x9e3779b1) >>> 0;
      const lo = (i: number): number => Math.imul(i ^ 0x5bd1e995, 0x85ebca6b) >>> 0;
      for (let i = 0; i < n; i++) slots.add(hi(i), lo(i));
      expect(slots.size).toBe(n);
      let wrong = 0;
      for (let i = 0; i < n; i++) if (slots.find(hi(i), lo(i)) !== i) wrong++;
      for (let i = n; i < n + 10_000; i++) if (slots.find(hi(i), lo(i)) !== -1) wrong++;
      expect(wrong).toBe(0);
    }
  });

  test('reserving room for fewer keys than it holds changes nothing', () => {
    const slots = new FingerprintSlots();
    for (let i = 0; i < 100; i++) slots.add(i * 1000, i);
    slots.reserve(10);
    for (let i = 0; i < 100; i++) expect(slots.find(i * 1000, i)).toBe(i);
  });
});
