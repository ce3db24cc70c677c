import type { FileHandle } from 'node:fs/promises';

// Reads a ledger in large chunks and cuts it into lines with their byte offsets (the index stores
// offsets, and lookups read lines back at them). Lines come in batches, one per chunk, because a
// million awaits cost more than the parsing.

const CHUNK = 1 << 20;
const NEWLINE = 0x0a;

export interface LineBatch {
  /** Lines without their '\n', decoded as UTF-8. */
  readonly texts: string[];
  /** Byte offset in the file of each line's first byte. */
  readonly offsets: number[];
}

/**
 * The '\n'-terminated lines in bytes [start, end) of the file, in order (`start`: where a line
 * begins). Bytes after the last '\n' are never yielded: they are a line still being written, or
 * one a crash tore.
 */
export async function* lineBatches(handle: FileHandle, end: number, start = 0): AsyncGenerator<LineBatch> {
  let buffer = Buffer.allocUnsafe(CHUNK);
  let base = start; // file offset of buffer[0]
  let filled = 0;
  while (base + filled < end) {
    if (filled === buffer.length) {
      // One line longer than the buffer: make room rather than cut it.
      const bigger = Buffer.allocUnsafe(buffer.length * 2);
      buffer.copy(bigger, 0, 0, filled);
      buffer = bigger;
    }
    const want = Math.min(buffer.length - filled, end - base - filled);
    const { bytesRead } = await handle.read(buffer, filled, want, base + filled);
    if (bytesRead === 0) return; // the file shrank under us: nothing more to read
    filled += bytesRead;

    const texts: string[] = [];
    const offsets: number[] = [];
    let start = 0;
    for (let nl = buffer.indexOf(NEWLINE, start); nl >= 0 && nl < filled; nl = buffer.indexOf(NEWLINE, start)) {
      texts.push(buffer.toString('utf8', start, nl));
      offsets.push(base + start);
      start = nl + 1;
    }
    buffer.copy(buffer, 0, start, filled);
    base += start;
    filled -= start;
    if (texts.length > 0) yield { texts, offsets };
  }
}
