import { Uint32Column } from './columns.js';

// Open addressing (linear probing) from a 64-bit fingerprint to a dense entry id. The slot array
// holds only `id + 1` (0 = empty), 4 bytes a slot, so the slack that doubling leaves costs little;
// the fingerprints and whatever the caller stores per entry live in dense columns indexed by id.
// Per key that is 8 bytes of fingerprint + 5.7-11.4 bytes of slots + the caller's columns, against
// ~80-100 bytes for a Map<string, number> entry plus its key string. Keys are never removed, so
// there are no tombstones.

const MAX_LOAD = 0.7;
const MIN_SLOTS = 16;

export class FingerprintSlots {
  private slots: Uint32Array;
  private mask: number;
  private limit: number;
  private count = 0;
  private readonly his = new Uint32Column();
  private readonly los = new Uint32Column();

  /** `expected`: how many keys to make room for before the first growth. */
  constructor(expected = 0) {
    let capacity = MIN_SLOTS;
    while (capacity * MAX_LOAD < expected) capacity *= 2;
    this.slots = new Uint32Array(capacity);
    this.mask = capacity - 1;
    this.limit = Math.floor(capacity * MAX_LOAD);
  }

  get size(): number {
    return this.count;
  }

  /** The fingerprint of entry `id`, into `out` as [hi, lo]. */
  fingerprintOf(id: number, out: Uint32Array): void {
    out[0] = this.his.get(id);
    out[1] = this.los.get(id);
  }

  /** The entry id of the fingerprint, or -1. */
  find(hi: number, lo: number): number {
    const { slots, mask, his, los } = this;
    for (let i = hi & mask; ; i = (i + 1) & mask) {
      const slot = slots[i]!;
      if (slot === 0) return -1;
      const id = slot - 1;
      if (his.get(id) === hi && los.get(id) === lo) return id;
    }
  }

  /** The entry id of the fingerprint, adding it as the next id (`size - 1` after) when absent. */
  add(hi: number, lo: number): number {
    const found = this.find(hi, lo);
    if (found >= 0) return found;
    if (this.count >= this.limit) this.grow();
    const id = this.count++;
    this.his.set(id, hi);
    this.los.set(id, lo);
    this.place(this.slots, this.mask, hi, id);
    return id;
  }

  private grow(): void {
    const capacity = this.slots.length * 2;
    const slots = new Uint32Array(capacity);
    const mask = capacity - 1;
    for (let id = 0; id < this.count; id++) this.place(slots, mask, this.his.get(id), id);
    this.slots = slots;
    this.mask = mask;
    this.limit = Math.floor(capacity * MAX_LOAD);
  }

  private place(slots: Uint32Array, mask: number, hi: number, id: number): void {
    let i = hi & mask;
    while (slots[i] !== 0) i = (i + 1) & mask;
    slots[i] = id + 1;
  }
}
