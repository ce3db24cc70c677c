import { open, opendir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { removeIndex } from '../index-file.js';

// A ledger rewritten by compact or merge replaces the old one in one step: written to a temp file
// in the same folder, fsynced, renamed over the target, and the folder fsynced so the rename
// itself survives a power cut. A crash at any moment leaves the old file or the new one, never a
// mix. A temp file a killed rewrite left is named after the ledger, and removed by the next one:
// callers hold the ledger's lock, so no other live process can be writing one for this ledger.

const FLUSH_AT = 1 << 20;

export class AtomicFile {
  private pending: string[] = [];
  private pendingBytes = 0;
  private written = 0;
  private lines = 0;

  private constructor(
    readonly path: string,
    readonly temp: string,
    private readonly handle: FileHandle,
  ) {}

  /** Call with the ledger's lock held. */
  static async create(path: string): Promise<AtomicFile> {
    await removeLeftovers(path);
    const temp = join(dirname(path), `.${basename(path)}.${process.pid}-${randomUUID().slice(0, 8)}.tmp`);
    return new AtomicFile(path, temp, await open(temp, 'wx', 0o644));
  }

  /** Append one line (without its '\n'). */
  async line(text: string): Promise<void> {
    this.pending.push(text, '\n');
    this.pendingBytes += Buffer.byteLength(text) + 1;
    this.lines++;
    if (this.pendingBytes >= FLUSH_AT) await this.flush();
  }

  get bytes(): number {
    return this.written + this.pendingBytes;
  }

  get lineCount(): number {
    return this.lines;
  }

  /** Make it the file at `path`. */
  async commit(): Promise<void> {
    await this.flush();
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
    await this.handle.close().catch(() => undefined);
    await unlink(this.temp).catch(() => undefined);
  }

  private async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const buffer = Buffer.from(this.pending.join(''), 'utf8');
    this.pending = [];
    this.pendingBytes = 0;
    for (let done = 0; done < buffer.length; ) done += (await this.handle.write(buffer, done, buffer.length - done)).bytesWritten;
    this.written += buffer.length;
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
