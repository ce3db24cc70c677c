import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh folder under the system's temp dir, for a test's or a benchmark's files. */
export async function tempDir(prefix = 'avatar-import-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}
