import { lstatSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { StatsAhead, type Prefetched } from '../../src/util/stats-ahead.js';

/** take() never waits: ask again at each turn of the event loop until the thread has answered. */
async function answered(ahead: StatsAhead, path: string, follow: boolean): Promise<Prefetched> {
  for (;;) {
    const answer = ahead.take(path, follow);
    if (answer !== undefined) return answer;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('StatsAhead', () => {
  let dir: string;
  let ahead: StatsAhead;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stats-ahead-'));
    ahead = new StatsAhead();
  });
  afterEach(async () => {
    await ahead.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('answers as lstatSync and statSync would: size, mtime, device, inode and kind', async () => {
    const file = join(dir, 'photo.jpg');
    writeFileSync(file, 'x'.repeat(1234));
    const link = join(dir, 'link.jpg');
    symlinkSync(file, link);
    mkdirSync(join(dir, 'folder'));
    ahead.ask([{ path: file, follow: false }, { path: link, follow: false }, { path: link, follow: true }, { path: join(dir, 'folder'), follow: true }]);

    const photo = (await answered(ahead, file, false))!;
    const real = lstatSync(file);
    expect([photo.size, photo.mtimeMs, photo.dev, photo.ino]).toEqual([real.size, real.mtimeMs, real.dev, real.ino]);
    expect([photo.isFile(), photo.isSymbolicLink(), photo.isDirectory()]).toEqual([true, false, false]);
    expect((await answered(ahead, link, false))!.isSymbolicLink()).toBe(true);
    const followed = (await answered(ahead, link, true))!;
    expect([followed.isFile(), followed.ino]).toEqual([true, statSync(link).ino]);
    expect((await answered(ahead, join(dir, 'folder'), true))!.isDirectory()).toBe(true);
  });

  test('a missing file is answered as missing (null); a path never asked for gets no answer', async () => {
    const missing = join(dir, 'nobody.jpg');
    ahead.ask([{ path: missing, follow: true }]);
    expect(await answered(ahead, missing, true)).toBeNull();
    // Asked with statSync, not lstatSync: the caller asks the file system itself.
    expect(ahead.take(missing, false)).toBeUndefined();
    expect(ahead.take(join(dir, 'other.jpg'), true)).toBeUndefined();
  });

  test('an error other than a missing file is no answer: the caller stats and meets the error itself', async () => {
    const file = join(dir, 'photo.jpg');
    writeFileSync(file, 'x');
    const inside = join(file, 'below.jpg'); // ENOTDIR
    const tooLong = join(dir, 'n'.repeat(300)); // ENAMETOOLONG
    ahead.ask([{ path: inside, follow: true }, { path: tooLong, follow: true }, { path: file, follow: true }]);
    await answered(ahead, file, true);
    expect(ahead.take(inside, true)).toBeUndefined();
    expect(ahead.take(tooLong, true)).toBeUndefined();
  });

  test('after close, nothing is answered', async () => {
    const file = join(dir, 'photo.jpg');
    writeFileSync(file, 'x');
    ahead.ask([{ path: file, follow: true }]);
    await answered(ahead, file, true);
    await ahead.close();
    expect(ahead.take(file, true)).toBeUndefined();
  });
});
