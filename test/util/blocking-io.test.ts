import { BlockingIo } from '../../src/util/blocking-io.js';

const nothing = (): undefined => undefined;

describe('BlockingIo', () => {
  test('blocking stays allowed while operations are quicker than the limit', () => {
    const io = new BlockingIo(60_000);
    expect(io.run(() => 42)).toBe(42);
    for (let i = 0; i < 100; i++) io.run(nothing);
    expect(io.allowed).toBe(true);
  });

  test('once most of the last 16 operations were slow, blocking is off for good (those that threw count too)', () => {
    const io = new BlockingIo(-1); // every operation is "slow"
    for (let i = 0; i < 8; i++) {
      expect(() => io.run(() => {
        throw new Error('EIO');
      })).toThrow('EIO');
    }
    expect(io.allowed).toBe(true); // half is not most: a busy machine preempts now and then
    io.run(nothing);
    expect(io.allowed).toBe(false);
  });
});
