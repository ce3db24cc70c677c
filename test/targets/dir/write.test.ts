import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirTarget } from '../../../src/targets/dir/dir.js';
import { BlockingIo } from '../../../src/util/blocking-io.js';

let out: string;
beforeEach(async () => {
  out = await mkdtemp(join(tmpdir(), 'avatar-dir-write-'));
});
afterEach(async () => {
  await rm(out, { recursive: true, force: true });
});

const avatar = (text: string) => ({ jpeg: Buffer.from(text), sha256: `sha-of-${text}`, edge: 1, quality: 85 });

describe('writing avatars', () => {
  // A BlockingIo that found its operations slow sends writes through the thread pool: both ways
  // must leave the same files and records.
  const slow = (): BlockingIo => {
    const io = new BlockingIo(-1, 0); // found slow at its first operation
    io.run(() => undefined);
    return io;
  };
  test.each([
    ['on the main thread', () => new BlockingIo(1, 0)],
    ['through the thread pool once writes were slow', slow],
  ])('%s: the file holds the bytes, its mtime is the stamp, no temp file is left', async (_, io) => {
    const target = new DirTarget({ out, checksum: false, blockingIo: io() });
    await target.open();
    for (const user of ['ana', 'bo', 'cy']) {
      const applied = await target.apply({ user, state: undefined }, avatar(user));
      const path = join(out, `${user}.jpg`);
      expect(await readFile(path, 'utf8')).toBe(user);
      expect(applied).toEqual({ remote: `sha-of-${user}`, stamp: Math.trunc((await stat(path)).mtimeMs) });
    }
    expect((await readdir(out)).sort()).toEqual(['ana.jpg', 'bo.jpg', 'cy.jpg']);
  });
});
