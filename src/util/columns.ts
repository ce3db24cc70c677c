// Dense per-entry storage for the compact tables, in fixed-size chunks rather than one array that
// doubles: growing never copies, never holds old and new at once (a doubling array briefly needs
// 1.5-3× its size, which is what a peak-RSS budget sees), and never leaves more than one chunk
// unused.

/** Entries a chunk holds: 2^14 (64 KB of uint32). The other columns chunk the same way. */
export const CHUNK_BITS = 14;
export const CHUNK = 1 << CHUNK_BITS;
export const IN_CHUNK = CHUNK - 1;

/** uint32 values by entry id; ids are handed out densely from 0. Unset ids read as 0. */
export class Uint32Column {
  private readonly chunks: Uint32Array[];

  /** `chunks`: another column's (`toChunks`), handed over from a worker thread. */
  constructor(chunks: Uint32Array[] = []) {
    this.chunks = chunks;
  }

  /** The column's storage, to hand over (transfer) to another thread. */
  toChunks(): Uint32Array[] {
    return this.chunks;
  }

  get(id: number): number {
    return read(this.chunks, id);
  }

  set(id: number, value: number): void {
    this.chunks[grow(this.chunks, id)]![id & IN_CHUNK] = value;
  }
}

/**
 * Any JS number by entry id, at 4 bytes per entry while values are uint32 (every ledger under
 * 4 GiB, every row number) and 8 once a chunk sees a value that is not: that chunk alone is
 * widened to float64, which holds every number exactly. Unset ids read as 0.
 */
export class NumberColumn {
  private readonly chunks: (Uint32Array | Float64Array)[] = [];

  get(id: number): number {
    return read(this.chunks, id);
  }

  set(id: number, value: number): void {
    const c = grow(this.chunks, id);
    let chunk = this.chunks[c]!;
    if (chunk.BYTES_PER_ELEMENT === 4 && !isUint32(value)) {
      chunk = Float64Array.from(chunk);
      this.chunks[c] = chunk;
    }
    chunk[id & IN_CHUNK] = value;
  }
}

function read(chunks: readonly (Uint32Array | Float64Array)[], id: number): number {
  const chunk = chunks[id >>> CHUNK_BITS];
  return chunk === undefined ? 0 : chunk[id & IN_CHUNK]!;
}

/** Adds (uint32) chunks up to the one `id` falls in; returns that chunk's index. */
function grow(chunks: (Uint32Array | Float64Array)[], id: number): number {
  const c = id >>> CHUNK_BITS;
  while (chunks.length <= c) chunks.push(new Uint32Array(CHUNK));
  return c;
}

export function isUint32(value: number): boolean {
  // `>>> 0` maps -0 to 0, which would come back as a different number.
  return value >>> 0 === value && (value !== 0 || 1 / value > 0);
}
