import { NumberColumn } from '../util/columns.js';
import { FingerprintSlots } from '../util/fingerprint-slots.js';
import { fingerprint } from '../util/fingerprint.js';

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

/**
 * (target, user) → two byte offsets, as numbers only: the lines themselves stay on disk and are
 * read back on lookup. 22-28 bytes a key while the ledger is under 4 GiB (24 MB measured for a
 * million keys). A fingerprint collision (odds on CompactTable) makes two keys share offsets;
 * the ledger verifies every line it reads back, so a collision costs a redone row, never a wrong
 * skip.
 */
export class OffsetIndex {
  private readonly slots = new FingerprintSlots();
  /** Offset + 1, so that 0 means "no row line yet" (a key known only from an intent). */
  private readonly latest = new NumberColumn();
  /** Offset + 1, so that the column's 0 means "no line with remote yet". */
  private readonly held = new NumberColumn();
  /** Offset + 1 of the latest intent line; pending when past the latest held line. */
  private readonly intent = new NumberColumn();
  private readonly scratch = new Uint32Array(2);

  /** Distinct (target, user) pairs. */
  get size(): number {
    return this.slots.size;
  }

  /** Record a row line at `offset`; later calls for the same key win. */
  record(target: string, user: string, offset: number, holdsRemote: boolean): void {
    fingerprint(this.scratch, target, user);
    this.recordAt(this.scratch[0]!, this.scratch[1]!, offset, holdsRemote);
  }

  /** `record` for the key whose fingerprint (util/fingerprint.ts) is (`hi`, `lo`). */
  recordAt(hi: number, lo: number, offset: number, holdsRemote: boolean): void {
    const id = this.slots.add(hi, lo);
    this.latest.set(id, offset + 1);
    if (holdsRemote) this.held.set(id, offset + 1);
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
      const held = this.held.get(id);
      const latest = this.latest.get(id);
      const intent = this.intent.get(id);
      if (latest !== 0) lines += held !== 0 && held !== latest ? 2 : 1;
      if (intent > held) lines++;
    }
    return lines;
  }

  /**
   * The offsets of the lines a compaction keeps for the import, ascending: every key's latest and
   * held row lines (each offset once) and its pending intent.
   */
  keptOffsets(): { readonly rows: Float64Array; readonly intents: Float64Array } {
    const rows = new Float64Array(2 * this.slots.size);
    const intents = new Float64Array(this.slots.size);
    let r = 0;
    let n = 0;
    for (let id = 0; id < this.slots.size; id++) {
      const latest = this.latest.get(id);
      const held = this.held.get(id);
      const intent = this.intent.get(id);
      if (latest !== 0) rows[r++] = latest - 1;
      if (held !== 0 && held !== latest) rows[r++] = held - 1;
      if (intent > held) intents[n++] = intent - 1;
    }
    return { rows: rows.subarray(0, r).sort(), intents: intents.subarray(0, n).sort() };
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
      into[at + 3] = this.held.get(id);
      into[at + 4] = this.intent.get(id);
    }
  }

  /** Adds `count` keys as exportKeys wrote them, after those already here. */
  importKeys(from: Float64Array, count: number): void {
    for (let i = 0; i < count; i++) {
      const at = i * 5;
      const id = this.slots.add(from[at]!, from[at + 1]!);
      this.latest.set(id, from[at + 2]!);
      this.held.set(id, from[at + 3]!);
      this.intent.set(id, from[at + 4]!);
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
    const held = this.held.get(id);
    const intent = this.intent.get(id);
    // One literal (absent as undefined): asked once per row of a nightly run.
    return { latest: latest !== 0 ? latest - 1 : undefined, held: held !== 0 ? held - 1 : undefined, intent: intent > held ? intent - 1 : undefined };
  }
}
