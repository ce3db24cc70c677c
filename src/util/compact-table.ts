import { FingerprintSlots } from './fingerprint-slots.js';
import { fingerprint } from './fingerprint.js';
import { NarrowColumn } from './narrow-column.js';

/**
 * A string → number map for millions of keys at flat memory: 8 bytes of fingerprint and ~5 of slot
 * a key, plus its value: 1 byte for a row number set as rows are read (see NarrowColumn), 4-8 for
 * others; a `Map<string, number>` costs 80-100 plus the key strings, which it must keep.
 *
 * The price: keys are not stored, only a 64-bit fingerprint of each, so two keys whose
 * fingerprints collide share an entry. With n keys that happens with probability about
 * n² / 2^65 (2.7e-8 for a million keys, 2.7e-6 for ten million). Use it where a collision is
 * survivable at that rate — "users seen in this run" would report a spurious duplicate_user — or
 * verify hits against the real data, as the ledger index does.
 *
 * Keys cannot be removed or listed.
 */
export class CompactTable {
  private readonly slots: FingerprintSlots;
  private readonly values = new NarrowColumn();
  private readonly scratch = new Uint32Array(2);

  /** `initialCapacity`: how many keys to make room for before the first growth. */
  constructor(initialCapacity = 0) {
    this.slots = new FingerprintSlots(initialCapacity);
  }

  get size(): number {
    return this.slots.size;
  }

  get(key: string): number | undefined {
    const id = this.idOf(key);
    return id < 0 ? undefined : this.values.get(id);
  }

  has(key: string): boolean {
    return this.idOf(key) >= 0;
  }

  /** Any number is kept exactly (integers up to 2^53, fractions, NaN, -0). */
  set(key: string, value: number): void {
    fingerprint(this.scratch, key);
    this.values.set(this.slots.add(this.scratch[0]!, this.scratch[1]!), value);
  }

  private idOf(key: string): number {
    // Often asked of an empty table (a nightly run's users are all in the ledger's index, and
    // most of dir's file names are never kept): no fingerprint to compute then.
    if (this.slots.size === 0) return -1;
    fingerprint(this.scratch, key);
    return this.slots.find(this.scratch[0]!, this.scratch[1]!);
  }
}
