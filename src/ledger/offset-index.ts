import { NumberColumn } from '../util/columns.js';
import { FingerprintSlots } from '../util/fingerprint-slots.js';
import { fingerprint } from '../util/fingerprint.js';

/** Where, in the ledger file, the lines that answer "already done?" for one (target, user) are. */
export interface RowOffsets {
  /** Byte offset of the latest row line. */
  readonly latest: number;
  /** Byte offset of the latest row line with `remote` set, if any. */
  readonly held?: number;
}

/**
 * (target, user) → two byte offsets, as numbers only: the lines themselves stay on disk and are
 * read back on lookup. 22-28 bytes a key while the ledger is under 4 GiB (24 MB measured for a
 * million keys). A fingerprint collision (odds on CompactTable) makes two keys share offsets;
 * the ledger verifies every line it reads back, so a collision costs a redone row, never a wrong
 * skip.
 */
export class OffsetIndex {
  private readonly slots = new FingerprintSlots();
  private readonly latest = new NumberColumn();
  /** Offset + 1, so that the column's 0 means "no line with remote yet". */
  private readonly held = new NumberColumn();
  private readonly scratch = new Uint32Array(2);

  /** Distinct (target, user) pairs. */
  get size(): number {
    return this.slots.size;
  }

  /** Record a row line at `offset`; later calls for the same key win. */
  record(target: string, user: string, offset: number, holdsRemote: boolean): void {
    fingerprint(this.scratch, target, user);
    const id = this.slots.add(this.scratch[0]!, this.scratch[1]!);
    this.latest.set(id, offset);
    if (holdsRemote) this.held.set(id, offset + 1);
  }

  /** Lines a compaction would keep for the import: the latest per key, plus the held one where it differs. */
  liveLines(): number {
    let lines = 0;
    for (let id = 0; id < this.slots.size; id++) {
      const held = this.held.get(id);
      lines += held !== 0 && held - 1 !== this.latest.get(id) ? 2 : 1;
    }
    return lines;
  }

  find(target: string, user: string): RowOffsets | undefined {
    fingerprint(this.scratch, target, user);
    const id = this.slots.find(this.scratch[0]!, this.scratch[1]!);
    if (id < 0) return undefined;
    const held = this.held.get(id);
    return held === 0 ? { latest: this.latest.get(id) } : { latest: this.latest.get(id), held: held - 1 };
  }
}
