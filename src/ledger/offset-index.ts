import { BitColumn } from '../util/bit-column.js';
import { NumberColumn } from '../util/columns.js';
import { FingerprintSlots } from '../util/fingerprint-slots.js';
import { fingerprint } from '../util/fingerprint.js';
import { SparseColumn } from '../util/sparse-column.js';

/** Where, in the ledger file, the lines that answer "already done?" for one (target, user) are. */
export interface RowOffsets {
  /** Byte offset of the latest row line (absent: only an intent so far). */
  readonly latest?: number | undefined;
  /** Byte offset of the latest row line with `remote` set, if any. */
  readonly held?: number | undefined;
  /** Byte offset of the pending intent line: the latest intent, when no row line saying what the
   * target holds (`remote` set) follows it. A failed line does not settle it: a write aborted by
   * Ctrl-C or lost to a timeout may have landed all the same. */
  readonly intent?: number | undefined;
}

/** keptOffsets' offsets (ascending) with their keys' fingerprints (see OffsetIndex.keptLines). */
export interface KeptLines {
  readonly rows: Float64Array;
  readonly rowHi: Uint32Array;
  readonly rowLo: Uint32Array;
  /** 1 where the row line is its key's held line (its `remote` is set). */
  readonly rowHeld: Uint8Array;
  readonly intents: Float64Array;
  readonly intentHi: Uint32Array;
  readonly intentLo: Uint32Array;
}

/** keptLines packs offset × ID_LIMIT + id into a float64, exact below 2^53. */
const ID_LIMIT = 2 ** 21;
const OFFSET_LIMIT = 2 ** 32;

/**
 * (target, user) → byte offsets, as numbers only: the lines themselves stay on disk and are read
 * back on lookup. About 18 bytes a key while the ledger is under 4 GiB: the fingerprint (8), its
 * slot (~5), the latest line's offset (4), and a bit saying whether the held line is that same line,
 * as it is for nearly every key of an import's ledger; a held line elsewhere and a pending intent,
 * both rare, take a sparse column each. A fingerprint collision (odds on CompactTable) makes two
 * keys share offsets; the ledger verifies every line it reads back, so a collision costs a redone
 * row, never a wrong skip.
 *
 * Offsets are given in the order of the file (read in order, then appended), so a row line with
 * `remote` settles every intent recorded before it for good, and the intent is forgotten.
 */
export class OffsetIndex {
  private readonly slots = new FingerprintSlots();
  /** Offset + 1, so that 0 means "no row line yet" (a key known only from an intent). */
  private readonly latest = new NumberColumn();
  /** Set where the held line (the latest with `remote`) is the latest line. */
  private readonly heldIsLatest = new BitColumn();
  /** Offset + 1 of the held line where it is not the latest line; 0: no line with remote yet. */
  private readonly heldElsewhere = new SparseColumn();
  /** Offset + 1 of the latest intent line, while pending (past the held line); else 0. */
  private readonly intent = new SparseColumn();
  private readonly scratch = new Uint32Array(2);

  /** Distinct (target, user) pairs. */
  get size(): number {
    return this.slots.size;
  }

  /** Makes room for `keys` keys in all, known ahead (an index file's), in one step. */
  reserve(keys: number): void {
    this.slots.reserve(keys);
  }

  /** Record a row line at `offset`; later calls for the same key win. */
  record(target: string, user: string, offset: number, holdsRemote: boolean): void {
    fingerprint(this.scratch, target, user);
    this.recordAt(this.scratch[0]!, this.scratch[1]!, offset, holdsRemote);
  }

  /** `record` for the key whose fingerprint (util/fingerprint.ts) is (`hi`, `lo`). */
  recordAt(hi: number, lo: number, offset: number, holdsRemote: boolean): void {
    const id = this.slots.add(hi, lo);
    if (holdsRemote) {
      this.heldIsLatest.set(id, true);
      this.heldElsewhere.set(id, 0);
      this.intent.set(id, 0);
    } else if (this.heldIsLatest.get(id)) {
      // The held line stays where it was, which is no longer the latest.
      this.heldElsewhere.set(id, this.latest.get(id));
      this.heldIsLatest.set(id, false);
    }
    this.latest.set(id, offset + 1);
  }

  /** Record an intent line at `offset` (see IntentLine); a later row line with `remote` settles it. */
  recordIntent(target: string, user: string, offset: number): void {
    fingerprint(this.scratch, target, user);
    this.recordIntentAt(this.scratch[0]!, this.scratch[1]!, offset);
  }

  /** `recordIntent` by fingerprint. */
  recordIntentAt(hi: number, lo: number, offset: number): void {
    const id = this.slots.add(hi, lo);
    this.intent.set(id, offset + 1);
  }

  /** Lines a compaction would keep for the import: the latest per key, plus the held one where it differs. */
  liveLines(): number {
    let lines = 0;
    for (let id = 0; id < this.slots.size; id++) {
      if (this.latest.get(id) !== 0) lines += this.heldElsewhere.get(id) !== 0 ? 2 : 1;
      if (this.intent.get(id) !== 0) lines++;
    }
    return lines;
  }

  /**
   * The offsets of the lines a compaction keeps for the import, ascending: every key's latest and
   * held row lines (each offset once) and its pending intent.
   */
  keptOffsets(): { readonly rows: Float64Array; readonly intents: Float64Array } {
    const { rows, intents } = this.gatherKept((offset) => offset);
    return { rows: rows.sort(), intents: intents.sort() };
  }

  /**
   * keptOffsets with, for each offset, its key's fingerprint and (rows) whether it is the key's
   * held line: what compaction needs to keep a line it takes on trust (trusted-lines.ts) without
   * reading it. Undefined past 4 GiB of ledger or 2 M keys, where offsets and ids no longer pack
   * into one float64 to be sorted together (compaction then reads every line).
   */
  keptLines(): KeptLines | undefined {
    if (this.slots.size >= ID_LIMIT) return undefined;
    let packs = true;
    const { rows, intents } = this.gatherKept((offset, id) => {
      packs &&= offset < OFFSET_LIMIT;
      return offset * ID_LIMIT + id;
    });
    if (!packs) return undefined;
    // Sorted packed, then unpacked in place (at a million users, every byte here counts).
    rows.sort();
    intents.sort();
    const kept: KeptLines = {
      rows, rowHi: new Uint32Array(rows.length), rowLo: new Uint32Array(rows.length), rowHeld: new Uint8Array(rows.length),
      intents, intentHi: new Uint32Array(intents.length), intentLo: new Uint32Array(intents.length),
    };
    const unpack = (offsets: Float64Array, hi: Uint32Array, lo: Uint32Array, held?: Uint8Array): void => {
      for (let i = 0; i < offsets.length; i++) {
        const id = offsets[i]! % ID_LIMIT;
        offsets[i] = (offsets[i]! - id) / ID_LIMIT;
        this.slots.fingerprintOf(id, this.scratch);
        hi[i] = this.scratch[0]!;
        lo[i] = this.scratch[1]!;
        if (held !== undefined) held[i] = this.heldOf(id) === offsets[i]! + 1 ? 1 : 0;
      }
    };
    unpack(rows, kept.rowHi, kept.rowLo, kept.rowHeld);
    unpack(intents, kept.intentHi, kept.intentLo);
    return kept;
  }

  /** Every key's latest and held row line (each offset once) and pending intent, each as
   * `pack(offset, id)`, unsorted, in arrays of just that size (counted first). */
  private gatherKept(pack: (offset: number, id: number) => number): { rows: Float64Array; intents: Float64Array } {
    let rows = new Float64Array(0);
    let intents = new Float64Array(0);
    for (const fill of [false, true]) {
      let r = 0;
      let n = 0;
      for (let id = 0; id < this.slots.size; id++) {
        const latest = this.latest.get(id);
        const elsewhere = this.heldIsLatest.get(id) ? 0 : this.heldElsewhere.get(id);
        const intent = this.intent.get(id);
        if (latest !== 0 && fill) rows[r] = pack(latest - 1, id);
        if (elsewhere !== 0 && fill) rows[r + (latest !== 0 ? 1 : 0)] = pack(elsewhere - 1, id);
        if (intent !== 0 && fill) intents[n] = pack(intent - 1, id);
        r += (latest !== 0 ? 1 : 0) + (elsewhere !== 0 ? 1 : 0);
        n += intent !== 0 ? 1 : 0;
      }
      if (!fill) [rows, intents] = [new Float64Array(r), new Float64Array(n)];
    }
    return { rows, intents };
  }

  /** Keys `from` … `from + count - 1` into `into`, five numbers each (for the index file). */
  exportKeys(from: number, count: number, into: Float64Array): void {
    for (let i = 0; i < count; i++) {
      const id = from + i;
      const at = i * 5;
      this.slots.fingerprintOf(id, this.scratch);
      into[at] = this.scratch[0]!;
      into[at + 1] = this.scratch[1]!;
      into[at + 2] = this.latest.get(id);
      into[at + 3] = this.heldOf(id);
      into[at + 4] = this.intent.get(id);
    }
  }

  /** Adds `count` keys as exportKeys wrote them, after those already here. */
  importKeys(from: Float64Array, count: number): void {
    for (let i = 0; i < count; i++) {
      const at = i * 5;
      const id = this.slots.add(from[at]!, from[at + 1]!);
      const latest = from[at + 2]!;
      const held = from[at + 3]!;
      const intent = from[at + 4]!;
      this.latest.set(id, latest);
      const same = held === latest && held !== 0;
      this.heldIsLatest.set(id, same);
      this.heldElsewhere.set(id, same ? 0 : held);
      // An intent an earlier version kept after it was settled is settled all the same.
      this.intent.set(id, intent > held ? intent : 0);
    }
  }

  /** The key's dense id (0 … size - 1), or -1 when absent. */
  idOf(target: string, user: string): number {
    fingerprint(this.scratch, target, user);
    return this.slots.find(this.scratch[0]!, this.scratch[1]!);
  }

  find(target: string, user: string): RowOffsets | undefined {
    fingerprint(this.scratch, target, user);
    const id = this.slots.find(this.scratch[0]!, this.scratch[1]!);
    if (id < 0) return undefined;
    const latest = this.latest.get(id);
    const held = this.heldIsLatest.get(id) ? latest : this.heldElsewhere.get(id);
    const intent = this.intent.get(id);
    // One literal (absent as undefined): asked once per row of a nightly run.
    return { latest: latest !== 0 ? latest - 1 : undefined, held: held !== 0 ? held - 1 : undefined, intent: intent !== 0 ? intent - 1 : undefined };
  }

  /** Offset + 1 of the held line, 0 when none. */
  private heldOf(id: number): number {
    return this.heldIsLatest.get(id) ? this.latest.get(id) : this.heldElsewhere.get(id);
  }
}
