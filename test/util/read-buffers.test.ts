import { ReadBuffers } from '../../src/util/read-buffers.js';

describe('ReadBuffers', () => {
  test('a buffer given back is taken again for a read that fits, whole even if a view of it came back', () => {
    const buffers = new ReadBuffers(2);
    const first = buffers.take(100_000);
    expect(first.length).toBeGreaterThanOrEqual(100_000);
    buffers.give(first.subarray(0, 10));
    const again = buffers.take(50_000);
    expect(again.buffer).toBe(first.buffer);
    expect(again.length).toBe(first.length);
  });

  test('a buffer in use is never handed out twice', () => {
    const buffers = new ReadBuffers(4);
    const a = buffers.take(1000);
    const b = buffers.take(1000);
    expect(b.buffer).not.toBe(a.buffer);
    buffers.give(a);
    buffers.give(a); // twice by mistake: still one free buffer
    expect(buffers.take(1000).buffer).toBe(a.buffer);
    expect(buffers.take(1000).buffer).not.toBe(a.buffer);
  });

  test('the smallest free buffer that fits is taken; a read bigger than all of them gets a new one', () => {
    const buffers = new ReadBuffers(4);
    const small = buffers.take(100_000);
    const big = buffers.take(1_000_000);
    buffers.give(big);
    buffers.give(small);
    expect(buffers.take(90_000).buffer).toBe(small.buffer);
    const bigger = buffers.take(3_000_000);
    expect(bigger.buffer).not.toBe(big.buffer);
    expect(bigger.length).toBeGreaterThanOrEqual(3_000_000);
  });

  test('only `keep` free buffers are kept, the smallest dropped first', () => {
    const buffers = new ReadBuffers(1);
    const small = buffers.take(100_000);
    const big = buffers.take(1_000_000);
    buffers.give(small);
    buffers.give(big);
    expect(buffers.take(10).buffer).toBe(big.buffer);
    expect(buffers.take(10).buffer).not.toBe(small.buffer);
  });

  test('buffers it did not make (a download) are not kept', () => {
    const buffers = new ReadBuffers(2);
    const foreign = Buffer.alloc(200_000);
    buffers.give(foreign);
    expect(buffers.take(10).buffer).not.toBe(foreign.buffer);
  });
});
