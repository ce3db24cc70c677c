/**
 * Buffers a run reads its source photos into, used again row after row.
 *
 * Why: each photo read into a fresh Buffer is ~0.4–6 MB of memory outside the JS heap, and V8
 * answers that much new external memory with a full (mark-compact) collection every few dozen
 * photos. Over 2 000 photos that was ~70 collections, ~0.6 ms of CPU a photo: more than everything
 * else the CLI adds to sharp's own work. Reused buffers are no new external memory.
 *
 * The contract is the caller's: a buffer given back must no longer be used by anyone it was handed
 * to (sharp calls awaited, previews made). Only buffers this pool made are kept; anything else given
 * back (a downloaded photo) is left to the garbage collector.
 */
export class ReadBuffers {
  readonly #keep: number;
  /** Free buffers, whole (never a view of part of one). */
  readonly #free: Buffer[] = [];
  readonly #mine = new WeakSet<ArrayBufferLike>();

  /** @param keep free buffers kept for reuse: about as many as are read at once (--jobs). */
  constructor(keep: number) {
    this.#keep = Math.max(1, keep);
  }

  /** A buffer of at least `size` bytes, contents undefined: the smallest free one that fits, or a
   * new one (rounded up to a power of two, so that photos of similar sizes share buffers). */
  take(size: number): Buffer {
    let best = -1;
    for (let i = 0; i < this.#free.length; i++) {
      const length = this.#free[i]!.length;
      if (length >= size && (best < 0 || length < this.#free[best]!.length)) best = i;
    }
    if (best >= 0) return this.#free.splice(best, 1)[0]!;
    const buffer = Buffer.allocUnsafeSlow(roundUp(size));
    this.#mine.add(buffer.buffer);
    return buffer;
  }

  /** Gives back a buffer from take() (or any view of one); the smallest is dropped past `keep`. */
  give(bytes: Buffer): void {
    if (!this.#mine.has(bytes.buffer)) return;
    const whole = Buffer.from(bytes.buffer, 0, bytes.buffer.byteLength);
    if (this.#free.some((free) => free.buffer === whole.buffer)) return;
    this.#free.push(whole);
    if (this.#free.length > this.#keep) {
      let smallest = 0;
      for (let i = 1; i < this.#free.length; i++) if (this.#free[i]!.length < this.#free[smallest]!.length) smallest = i;
      this.#free.splice(smallest, 1);
    }
  }
}

function roundUp(size: number): number {
  let rounded = 64 * 1024;
  while (rounded < size) rounded *= 2;
  return rounded;
}
