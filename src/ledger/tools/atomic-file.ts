import { open, opendir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { removeIndex } from '../index-file.js';

// A ledger rewritten by compact or merge replaces the old one in one step: written to a temp file
// in the same folder, fsynced, renamed over the target, and the folder fsynced so the rename
// itself survives a power cut. A crash at any moment leaves the old file or the new one, never a
// mix. A temp file a killed rewrite left is named after the ledger, and removed by the next one:
// callers hold the ledger's lock, so no other live process can be writing one for this ledger.

/** Lines are gathered into a buffer of this size and written a buffer at a time. */
const BUFFER_BYTES = 4 << 20;
const NEWLINE = 0x0a;

export class AtomicFile {
  private buffer: Buffer;
  private used = 0;
  /** Filled buffers not yet written. */
  private waiting: Uint8Array[] = [];
  private waitingBytes = 0;
  /** A written buffer, for the next rotate: a few buffers in all, not one a rotate. */
  private spare: Buffer | undefined;
  private written = 0;
  private lines = 0;
  /** The buffers `drain` handed on, being written while the caller goes on appending. */
  private writing: Promise<void> = Promise.resolve();
  private failure: { readonly error: unknown } | undefined;

  private constructor(
    readonly path: string,
    readonly temp: string,
    private readonly handle: FileHandle,
    private readonly bufferBytes: number,
  ) {
    this.buffer = Buffer.allocUnsafeSlow(bufferBytes);
  }

  /** Call with the ledger's lock held. `bufferBytes`: lines are written this many bytes at a time
   * (tests make it small, so that lines cross buffers). */
  static async create(path: string, bufferBytes = BUFFER_BYTES): Promise<AtomicFile> {
    await removeLeftovers(path);
    const temp = join(dirname(path), `.${basename(path)}.${process.pid}-${randomUUID().slice(0, 8)}.tmp`);
    return new AtomicFile(path, temp, await open(temp, 'wx', 0o644), bufferBytes);
  }

  /** Append one line (without its '\n'). */
  async line(text: string): Promise<void> {
    this.appendLine(text);
    await this.drain();
  }

  /** `line` without writing yet: a caller that appends many lines drains now and then. */
  appendLine(text: string): void {
    const most = text.length * 3 + 1;
    if (most > this.buffer.length - this.used) {
      if (most > this.bufferBytes) {
        this.append(Buffer.from(`${text}\n`, 'utf8'), 1);
        return;
      }
      this.rotate();
    }
    const length = this.buffer.write(text, this.used, 'utf8');
    this.buffer[this.used + length] = NEWLINE;
    this.used += length + 1;
    this.lines++;
  }

  /** Append `lines` whole lines as they are, each with its '\n' (compaction copies the lines it
   * keeps as bytes, never decoded); written by the next `drain`. */
  append(bytes: Uint8Array, lines: number): void {
    this.lines += lines;
    for (let from = 0; from < bytes.length; ) {
      if (this.used === this.buffer.length) this.rotate();
      const length = Math.min(bytes.length - from, this.buffer.length - this.used);
      this.buffer.set(bytes.subarray(from, from + length), this.used);
      this.used += length;
      from += length;
    }
  }

  /**
   * Hands the buffers filled so far to be written, once those handed on before are written (or
   * throws how that failed): one batch is written while the caller fills the next. Compaction
   * waited ~0.3 s a night at 100 000 users for writes its walk could have gone on meanwhile.
   */
  async drain(): Promise<void> {
    await this.writing;
    if (this.failure) throw this.failure.error;
    if (this.waiting.length === 0) return;
    const batch = this.waiting;
    this.waiting = [];
    this.writing = this.writeBatch(batch).catch((error: unknown) => {
      this.failure ??= { error };
    });
  }

  /** Everything appended so far written, or how that failed thrown. */
  private async settle(): Promise<void> {
    await this.drain();
    await this.writing;
    if (this.failure) throw this.failure.error;
  }

  /** Bytes appended so far: where the next line starts in the new file. */
  get bytes(): number {
    return this.written + this.waitingBytes + this.used;
  }

  get lineCount(): number {
    return this.lines;
  }

  /** Make it the file at `path`. */
  async commit(): Promise<void> {
    this.rotate();
    await this.settle();
    await this.handle.datasync();
    await this.handle.close();
    // The old file's index would not match the new one anyway; gone, it is not even read.
    await removeIndex(this.path);
    await rename(this.temp, this.path);
    const folder = await open(dirname(this.path), 'r');
    try {
      await folder.sync().catch(() => undefined); // not every filesystem syncs folders
    } finally {
      await folder.close();
    }
  }

  /** Give up: remove the temp file, leave `path` as it was. */
  async abandon(): Promise<void> {
    await this.writing;
    await this.handle.close().catch(() => undefined);
    await unlink(this.temp).catch(() => undefined);
  }

  /** The buffer goes to the queue; appending goes on in a new one. */
  private rotate(): void {
    if (this.used === 0) return;
    this.waiting.push(this.buffer.subarray(0, this.used));
    this.waitingBytes += this.used;
    this.buffer = this.spare ?? Buffer.allocUnsafeSlow(this.bufferBytes);
    this.spare = undefined;
    this.used = 0;
  }

  private async writeBatch(batch: readonly Uint8Array[]): Promise<void> {
    for (const bytes of batch) {
      for (let done = 0; done < bytes.length; ) done += (await this.handle.write(bytes, done, bytes.length - done)).bytesWritten;
      // Together, with no await between: `bytes` (where the next line starts) stays exact for a
      // caller reading it between two writes.
      this.written += bytes.length;
      this.waitingBytes -= bytes.length;
      if (bytes.buffer.byteLength === this.bufferBytes) this.spare = Buffer.from(bytes.buffer, 0, this.bufferBytes);
    }
  }
}

/** Temp files of earlier rewrites of `path` that were killed before their rename. */
async function removeLeftovers(path: string): Promise<void> {
  const prefix = `.${basename(path)}.`;
  // Streamed: the folder may be a big one (the CSV's, or the avatars').
  for await (const entry of await opendir(dirname(path))) {
    if (entry.name.startsWith(prefix) && /^\d+-[0-9a-f]{8}\.tmp$/.test(entry.name.slice(prefix.length))) {
      await unlink(join(dirname(path), entry.name)).catch(() => undefined);
    }
  }
}
