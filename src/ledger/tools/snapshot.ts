import { open, type FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';

import { UsageError } from '../../errors.js';
import { lineBatches } from '../line-batches.js';
import { isEndLine, isIntentLine, isRowLine, isRunLine, type IntentLine, type LedgerLine } from '../lines.js';

// The ledger tools read a ledger as it is when they start (a live run may go on appending: its
// later lines are not part of this look), in as many streaming passes as they need. Lines are
// parsed one batch at a time and dropped; what a tool keeps across a pass is numbers (offsets,
// counts) or a handful of small records, never the ledger's lines.

/** A line of the snapshot, parsed. */
export interface Located<T = LedgerLine> {
  readonly offset: number;
  /** Bytes including the '\n'. */
  readonly bytes: number;
  readonly line: T;
}

const NEWLINE = 0x0a;

export class Snapshot {
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    /** Bytes read by every pass: the file's size when opened, so passes agree with each other. */
    readonly size: number,
  ) {}

  /** Open `path` for reading; a missing ledger is the caller's mistake (UsageError). */
  static async open(path: string): Promise<Snapshot> {
    const absolute = resolve(path);
    let handle: FileHandle;
    try {
      handle = await open(absolute, 'r');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new UsageError(`ledger ${absolute} does not exist`);
      if (code === 'EISDIR' || code === 'EACCES' || code === 'EPERM') throw new UsageError(`ledger ${absolute} cannot be read: ${code}`);
      throw error;
    }
    return new Snapshot(absolute, handle, (await handle.stat()).size);
  }

  /** Every complete line as text with its offset, batch by batch (an unterminated last line is left out). */
  texts(): AsyncGenerator<{ texts: string[]; offsets: number[] }> {
    return lineBatches(this.handle, this.size);
  }

  /** Every run, row and end line, parsed, batch by batch; lines that are not JSON or not known are skipped. */
  async *lines(): AsyncGenerator<Located[]> {
    for await (const { texts, offsets } of this.texts()) {
      const batch: Located[] = [];
      for (let i = 0; i < texts.length; i++) {
        const line = parseLine(texts[i]!);
        if (line !== undefined) batch.push({ offset: offsets[i]!, bytes: Buffer.byteLength(texts[i]!) + 1, line });
      }
      if (batch.length > 0) yield batch;
    }
  }

  /** The line starting at `offset`, parsed, if it is complete and one the tools know. */
  async lineAt(offset: number): Promise<LedgerLine | undefined> {
    const text = await this.textAt(offset);
    return text === undefined ? undefined : parseLine(text);
  }

  async textAt(offset: number): Promise<string | undefined> {
    for (let length = 2048; ; length *= 4) {
      const buffer = Buffer.allocUnsafe(Math.min(length, Math.max(0, this.size - offset)));
      if (buffer.length === 0) return undefined;
      const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, offset);
      const end = buffer.subarray(0, bytesRead).indexOf(NEWLINE);
      if (end >= 0) return buffer.toString('utf8', 0, end);
      if (offset + bytesRead >= this.size) return undefined;
    }
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

export function parseLine(text: string): LedgerLine | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isRowLine(value) || isRunLine(value) || isEndLine(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Open, run `body`, close: the tools' way to hold a snapshot. */
export async function withSnapshot<T>(path: string, body: (snapshot: Snapshot) => Promise<T>): Promise<T> {
  const snapshot = await Snapshot.open(path);
  try {
    return await body(snapshot);
  } finally {
    await snapshot.close();
  }
}

/** An intent line (see IntentLine), or undefined. */
export function parseIntentLine(text: string): IntentLine | undefined {
  if (!text.includes('"intent"')) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return isIntentLine(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
