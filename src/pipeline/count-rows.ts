import { open } from 'node:fs/promises';

/** Bytes read at a time, into one buffer read into again and again. */
const CHUNK_BYTES = 1 << 20;

/** Rows in a CSV file for progress and ETA: newlines minus the header, counted in a streaming
 * pass beside the real one (quoted fields with newlines make it an estimate, never a bound). */
export async function countRows(path: string): Promise<number> {
  const handle = await open(path, 'r');
  try {
    // Not a read stream: it reads into a new buffer each time, and those lived until the next full
    // collection, a CSV's worth at once (28 MB of a million-row run's peak).
    const buffer = Buffer.allocUnsafeSlow(CHUNK_BYTES);
    let lines = 0;
    let last = 0x0a;
    for (let read = await handle.read(buffer, 0, CHUNK_BYTES, null); read.bytesRead > 0; read = await handle.read(buffer, 0, CHUNK_BYTES, null)) {
      const chunk = buffer.subarray(0, read.bytesRead);
      for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) lines++;
      last = chunk[chunk.length - 1]!;
    }
    if (last !== 0x0a) lines++;
    return Math.max(lines - 1, 0);
  } finally {
    await handle.close();
  }
}
