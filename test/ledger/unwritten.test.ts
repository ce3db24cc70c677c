import fc from 'fast-check';

import { unwritten } from '../../src/ledger/unwritten.js';

describe('unwritten', () => {
  test('after a short write, what is left is exactly the bytes not yet written, in order', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 20 }), { maxLength: 6 }), fc.nat(), (arrays, n) => {
        const parts = arrays.map((bytes) => Buffer.from(bytes));
        const all = Buffer.concat(parts);
        const written = all.length === 0 ? 0 : n % (all.length + 1);
        const rest = unwritten(parts, written);
        expect(Buffer.concat(rest).equals(all.subarray(written))).toBe(true);
        // Nothing empty is left to write (a write of nothing would loop).
        expect(rest.every((part) => part.length > 0)).toBe(true);
      }),
    );
  });
});
