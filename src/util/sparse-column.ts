import { CHUNK_BITS, IN_CHUNK, isUint32 } from './columns.js';

// For a per-entry value that is 0 for nearly every entry (the ledger index's pending intents, its
// held lines that are not the latest): a chunk of ids holds its few other values in a Map, and
// only one with many of them pays for a dense array (4 bytes an id while its values are uint32,
// 8 once one is not). A column never set costs nothing; a million ids with a few hundred values
// cost a few hundred Map entries, where a dense column costs 4 MB.

/** Values in a chunk's Map before it turns dense: 1/16 of its ids (a Map entry costs about 10× a
 * dense one, so the two cost about the same there). */
const MAX_SPARSE = 1 << (CHUNK_BITS - 4);

type Chunk = Map<number, number> | Uint32Array | Float64Array;

/** Any JS number by entry id; unset ids, and ids set to 0, read as 0. */
export class SparseColumn {
  private readonly chunks: (Chunk | undefined)[] = [];

  get(id: number): number {
    const chunk = this.chunks[id >>> CHUNK_BITS];
    if (chunk === undefined) return 0;
    if (chunk instanceof Map) return chunk.get(id & IN_CHUNK) ?? 0;
    return chunk[id & IN_CHUNK]!;
  }

  set(id: number, value: number): void {
    const c = id >>> CHUNK_BITS;
    const at = id & IN_CHUNK;
    const chunk = this.chunks[c];
    if (chunk === undefined) {
      if (value === 0) return;
      while (this.chunks.length < c) this.chunks.push(undefined);
      this.chunks[c] = new Map([[at, value]]);
    } else if (chunk instanceof Map) {
      if (value === 0) chunk.delete(at);
      else if (chunk.size < MAX_SPARSE || chunk.has(at)) chunk.set(at, value);
      else (this.chunks[c] = dense(chunk, value))[at] = value;
    } else if (chunk instanceof Uint32Array && !isUint32(value)) {
      (this.chunks[c] = Float64Array.from(chunk))[at] = value;
    } else {
      chunk[at] = value;
    }
  }
}

/** The chunk's values as an array, wide enough for them and for `next`. */
function dense(values: Map<number, number>, next: number): Uint32Array | Float64Array {
  const wide = !isUint32(next) || [...values.values()].some((value) => !isUint32(value));
  const chunk = wide ? new Float64Array(IN_CHUNK + 1) : new Uint32Array(IN_CHUNK + 1);
  for (const [at, value] of values) chunk[at] = value;
  return chunk;
}
