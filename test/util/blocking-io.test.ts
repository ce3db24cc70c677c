import { BlockingIo } from '../../src/util/blocking-io.js';

const nothing = (): undefined => undefined;

describe('BlockingIo', () => {
  test('blocking stays allowed while operations take less than the share of the time allowed', () => {
    const io = new BlockingIo(1, 0); // a share of 1: blocked time never exceeds the time elapsed
    expect(io.run(() => 42)).toBe(42);
    for (let i = 0; i < 100; i++) io.run(nothing);
    expect(io.allowed).toBe(true);
  });

  test('once blocking took more than its share of a window, it is off for good (an operation that threw counts too)', () => {
    const io = new BlockingIo(-1, 0); // every window is over its share
    expect(() => io.run(() => {
      throw new Error('EIO');
    })).toThrow('EIO');
    expect(io.allowed).toBe(false);
  });

  test('nothing is decided before a window has passed', () => {
    const io = new BlockingIo(-1, 60_000);
    for (let i = 0; i < 100; i++) io.run(nothing);
    expect(io.allowed).toBe(true);
  });
});
