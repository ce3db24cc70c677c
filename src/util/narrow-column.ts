import { CHUNK, CHUNK_BITS, IN_CHUNK, isUint32 } from './columns.js';

// For per-entry values that move with their id: the row on which each entry was met, when entries
// get their ids in the order rows are read (a table of this run's users or file names), or in about
// that order (the ledger's users, indexed in the order the export listed them when they came). In
// a chunk of ids such values minus their id stay close together, so the chunk keeps `value - id`
// as a distance from a base of its own ("frame of reference"): 1 byte an id while those distances
// span under 253, 2 while under 65 533, else the values themselves (4 bytes while uint32, 8 once
// one is not). A million rows met in order take 1 MB here, 4 MB in a NumberColumn; values that do
// not move with their id cost what they cost there, after a re-encoding or two per chunk.

type Chunk = Uint8Array | Uint16Array | Uint32Array | Float64Array;

/** Any JS number by entry id, exactly (-0 and NaN included); unset ids read as 0. */
export class NarrowColumn {
  private readonly chunks: (Chunk | undefined)[] = [];
  /** Per chunk held as distances: value = stored + id + base (stored 0: the value 0, or unset). */
  private readonly bases: number[] = [];

  get(id: number): number {
    const c = id >>> CHUNK_BITS;
    const chunk = this.chunks[c];
    if (chunk === undefined) return 0;
    const stored = chunk[id & IN_CHUNK]!;
    return stored === 0 || chunk.BYTES_PER_ELEMENT > 2 ? stored : stored + id + this.bases[c]!;
  }

  set(id: number, value: number): void {
    const c = id >>> CHUNK_BITS;
    const at = id & IN_CHUNK;
    let chunk = this.chunks[c];
    if (chunk === undefined) {
      if (isZero(value)) return;
      while (this.chunks.length < c) this.chunks.push(undefined);
      chunk = this.chunks[c] = new Uint8Array(CHUNK);
      // The first value in the middle of the byte's range: room to move either way.
      this.bases[c] = isInteger(value) ? value - id - 128 : 0;
    }
    if (chunk.BYTES_PER_ELEMENT > 2) {
      if (chunk instanceof Uint32Array && !isUint32(value)) chunk = this.chunks[c] = Float64Array.from(chunk);
      chunk[at] = value;
      return;
    }
    if (isZero(value)) {
      chunk[at] = 0;
      return;
    }
    const stored = value - id - this.bases[c]!;
    if (isInteger(value) && stored >= 1 && stored < 2 ** (8 * chunk.BYTES_PER_ELEMENT)) chunk[at] = stored;
    else this.reencode(c, at, value);
  }

  /** Chunk `c` again in the narrowest form that holds its values and `value` at `at`. */
  private reencode(c: number, at: number, value: number): void {
    const first = c << CHUNK_BITS;
    const values = new Float64Array(CHUNK);
    for (let i = 0; i < CHUNK; i++) values[i] = this.get(first + i);
    values[at] = value;
    let low = Infinity;
    let high = -Infinity;
    let integers = true;
    let uint32 = true;
    for (let i = 0; i < CHUNK; i++) {
      const v = values[i]!;
      if (isZero(v)) continue;
      integers &&= isInteger(v);
      uint32 &&= isUint32(v);
      low = Math.min(low, v - (first + i));
      high = Math.max(high, v - (first + i));
    }
    let chunk: Chunk;
    if (integers && high - low <= 65_532) {
      chunk = high - low <= 252 ? new Uint8Array(CHUNK) : new Uint16Array(CHUNK);
      // Centred, so the distances can move either way before the next re-encoding.
      const base = Math.floor((low + high) / 2) - (chunk instanceof Uint8Array ? 128 : 32_768);
      for (let i = 0; i < CHUNK; i++) if (!isZero(values[i]!)) chunk[i] = values[i]! - (first + i) - base;
      this.bases[c] = base;
    } else {
      chunk = uint32 ? Uint32Array.from(values) : values;
    }
    this.chunks[c] = chunk;
  }
}

/** An integer a distance can stand for exactly (not -0: it would come back as 0). */
function isInteger(value: number): boolean {
  return Number.isSafeInteger(value) && !Object.is(value, -0);
}

/** 0 but not -0, which only a float64 chunk holds. */
function isZero(value: number): boolean {
  return value === 0 && 1 / value > 0;
}
