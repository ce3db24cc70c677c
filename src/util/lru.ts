/**
 * A small least-recently-used map: the run's caches must stay bounded whatever the CSV length.
 *
 * A Map of slots plus a recency list kept in arrays of slot numbers. (The obvious version, a Map
 * re-inserted on use and evicting `keys().next()`, pays for the deleted entries the iterator walks
 * past at the front of V8's table: ~1.6 µs a `set` once full, a visible share of a nightly run that
 * claims 100 000 file names.)
 */
export class Lru<K, V> {
  readonly #max: number;
  readonly #slots = new Map<K, number>();
  readonly #keys: (K | undefined)[] = [];
  readonly #values: (V | undefined)[] = [];
  /** The slot used just after / just before this one; -1 at the ends. */
  readonly #newer: number[] = [];
  readonly #older: number[] = [];
  readonly #free: number[] = [];
  #newest = -1;
  #oldest = -1;

  constructor(max: number) {
    this.#max = max;
  }

  get(key: K): V | undefined {
    const slot = this.#slots.get(key);
    if (slot === undefined) return undefined;
    const value = this.#values[slot];
    if (value !== undefined) this.#touch(slot);
    return value;
  }

  set(key: K, value: V): void {
    const known = this.#slots.get(key);
    if (known !== undefined) {
      this.#values[known] = value;
      this.#touch(known);
      return;
    }
    if (this.#max <= 0) return;
    if (this.#slots.size >= this.#max) this.delete(this.#keys[this.#oldest] as K);
    const slot = this.#free.pop() ?? this.#keys.length;
    this.#keys[slot] = key;
    this.#values[slot] = value;
    this.#slots.set(key, slot);
    this.#link(slot);
  }

  delete(key: K): void {
    const slot = this.#slots.get(key);
    if (slot === undefined) return;
    this.#unlink(slot);
    this.#slots.delete(key);
    this.#keys[slot] = undefined;
    this.#values[slot] = undefined;
    this.#free.push(slot);
  }

  /** Makes `slot` the most recent. */
  #touch(slot: number): void {
    if (slot === this.#newest) return;
    this.#unlink(slot);
    this.#link(slot);
  }

  /** Adds `slot` as the most recent. */
  #link(slot: number): void {
    this.#older[slot] = this.#newest;
    this.#newer[slot] = -1;
    if (this.#newest !== -1) this.#newer[this.#newest] = slot;
    this.#newest = slot;
    if (this.#oldest === -1) this.#oldest = slot;
  }

  #unlink(slot: number): void {
    const older = this.#older[slot]!;
    const newer = this.#newer[slot]!;
    if (older !== -1) this.#newer[older] = newer;
    else this.#oldest = newer;
    if (newer !== -1) this.#older[newer] = older;
    else this.#newest = older;
  }
}
