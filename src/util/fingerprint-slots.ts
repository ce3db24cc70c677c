import { Uint32Column } from './columns.js';

// Open addressing (linear probing) from a 64-bit fingerprint to a dense entry id. The fingerprints
// and whatever the caller stores per entry live in dense columns indexed by id; a slot holds only
// `id + 1` (0 = empty), 4 bytes, so the slots are the only part that slack costs.
//
// Slack is kept small: the table grows by a quarter (not double) and fills to 85 %, so a key costs
// 4.7-5.9 bytes of slots (with doubling to 70 %: 5.7-11.4, 8 at a million keys). Any capacity
// works because a fingerprint's home slot is `hi × capacity / 2^32` ("fastrange"), not `hi & mask`.
// What would make 85 % slow is a probe reading each passed entry's fingerprint from the columns
// (a cache miss apiece, ~23 probes for a miss at that load): the bits of a slot the id does not
// need hold the top bits of `lo` as a tag, so a probe reads its column only when the tag matches
// (a false match 1 in 2^(32 - id bits): 1 in 2 048 at a million keys). Keys are never removed, so
// there are no tombstones.

const MAX_LOAD = 0.85;
const GROWTH = 1.25;
/** The load `reserve` sizes for: room for a few more keys before growing. */
const RESERVE_LOAD = 0.8;
const MIN_SLOTS = 16;
/** Ids then need at most 31 bits (a tag keeps at least one), so `slot & idMask` stays a positive int32. */
const MAX_SLOTS = 2 ** 31 - 1;

export class FingerprintSlots {
  private slots = new Uint32Array(0);
  /** Home slot of `hi` = floor(hi × scale), scale = capacity / 2^32. */
  private scale = 0;
  private idBits = 0;
  private idMask = 0;
  private limit = 0;
  private count = 0;
  private readonly his = new Uint32Column();
  private readonly los = new Uint32Column();

  /** `expected`: how many keys to make room for before the first growth. */
  constructor(expected = 0) {
    this.resize(Math.max(MIN_SLOTS, Math.ceil(expected / MAX_LOAD) + 1));
  }

  get size(): number {
    return this.count;
  }

  /** Makes room for `keys` keys in all (a count known ahead, as an index file's) in one step. */
  reserve(keys: number): void {
    if (keys > this.limit) this.resize(Math.ceil(keys / RESERVE_LOAD));
  }

  /** The fingerprint of entry `id`, into `out` as [hi, lo]. */
  fingerprintOf(id: number, out: Uint32Array): void {
    out[0] = this.his.get(id);
    out[1] = this.los.get(id);
  }

  /** The entry id of the fingerprint, or -1. */
  find(hi: number, lo: number): number {
    const { slots, idBits, idMask, his, los } = this;
    const capacity = slots.length;
    const tag = lo >>> idBits;
    for (let i = (hi * this.scale) | 0; ; ) {
      const slot = slots[i]!;
      if (slot === 0) return -1;
      if (slot >>> idBits === tag) {
        const id = (slot & idMask) - 1;
        if (his.get(id) === hi && los.get(id) === lo) return id;
      }
      if (++i === capacity) i = 0;
    }
  }

  /** The entry id of the fingerprint, adding it as the next id (`size - 1` after) when absent. */
  add(hi: number, lo: number): number {
    const found = this.find(hi, lo);
    if (found >= 0) return found;
    if (this.count >= this.limit) {
      if (this.slots.length === MAX_SLOTS) throw new RangeError(`more than ${this.limit} keys for one table`);
      this.resize(Math.ceil(this.slots.length * GROWTH));
    }
    const id = this.count++;
    this.his.set(id, hi);
    this.los.set(id, lo);
    this.place(id, hi, lo);
    return id;
  }

  /** New slots, `wanted` of them (more than the keys held) up to the most ids can number; every key placed again. */
  private resize(wanted: number): void {
    const capacity = Math.min(wanted, MAX_SLOTS);
    this.slots = new Uint32Array(capacity);
    this.scale = capacity / 2 ** 32;
    // Enough bits for every id + 1 (below the capacity).
    let idBits = 1;
    while (2 ** idBits <= capacity) idBits++;
    this.idBits = idBits;
    this.idMask = 2 ** this.idBits - 1;
    this.limit = Math.min(Math.floor(capacity * MAX_LOAD), capacity - 1);
    for (let id = 0; id < this.count; id++) this.place(id, this.his.get(id), this.los.get(id));
  }

  private place(id: number, hi: number, lo: number): void {
    const { slots, idBits } = this;
    const capacity = slots.length;
    let i = (hi * this.scale) | 0;
    while (slots[i] !== 0) if (++i === capacity) i = 0;
    // The tag in the bits above the id's (`<<` by 32 would shift by 0, but idBits ≤ 31).
    slots[i] = ((lo >>> idBits) << idBits) | (id + 1);
  }
}
