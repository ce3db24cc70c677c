import { CHUNK_BITS, IN_CHUNK } from './columns.js';

/** One yes/no per entry id, 1 bit each (2 KB per chunk of ids); unset ids read as false. */
export class BitColumn {
  private readonly chunks: Uint32Array[] = [];

  get(id: number): boolean {
    const chunk = this.chunks[id >>> CHUNK_BITS];
    return chunk !== undefined && (chunk[(id & IN_CHUNK) >>> 5]! & (1 << (id & 31))) !== 0;
  }

  set(id: number, on: boolean): void {
    const c = id >>> CHUNK_BITS;
    if (this.chunks.length <= c) {
      if (!on) return;
      while (this.chunks.length <= c) this.chunks.push(new Uint32Array((IN_CHUNK + 1) >>> 5));
    }
    const chunk = this.chunks[c]!;
    const word = (id & IN_CHUNK) >>> 5;
    if (on) chunk[word] = chunk[word]! | (1 << (id & 31));
    else chunk[word] = chunk[word]! & ~(1 << (id & 31));
  }
}
