import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RowError } from '../../src/errors.js';
import { fileError } from '../../src/input/paths.js';
import { locate, readSource, statSource, type SourceOptions } from '../../src/input/source.js';
import { ReadBuffers } from '../../src/util/read-buffers.js';
import { BlockingIo } from '../../src/util/blocking-io.js';
import { readLocatedFile } from '../../src/input/read-file.js';

let root: string;
let images: string;
let options: SourceOptions;

beforeAll(async () => {
  // Real paths throughout: the temp dir itself may sit behind a symlink (macOS /tmp).
  root = await realpath(await mkdtemp(join(tmpdir(), 'avatar-input-')));
  images = join(root, 'imgs');
  await mkdir(join(images, 'team'), { recursive: true });
  await mkdir(join(root, 'imgs2'));
  await writeFile(join(images, 'ana.jpg'), 'ana-bytes');
  await writeFile(join(images, 'team', 'bo.jpg'), 'bo-bytes');
  await writeFile(join(images, 'big.jpg'), Buffer.alloc(2048));
  await writeFile(join(root, 'secret.jpg'), 'secret');
  await writeFile(join(root, 'imgs2', 'x.jpg'), 'x');
  await symlink(join(images, 'ana.jpg'), join(images, 'alias.jpg'));
  await symlink(join(root, 'secret.jpg'), join(images, 'escape.jpg'));
  await symlink(root, join(images, 'up'));
  execFileSync('mkfifo', [join(images, 'pipe.jpg')]);
  options = { imagesDir: images, allowHosts: [], timeoutMs: 1000, maxSourceBytes: 1024 };
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function failure(attempt: Promise<unknown>): Promise<RowError> {
  const error = await attempt.then(() => undefined, (caught: unknown) => caught);
  if (!(error instanceof RowError)) throw new Error(`expected a RowError, got ${String(error)}`);
  return error;
}

describe('locating a file', () => {
  test('a relative path is taken from the images folder and read from its real path', async () => {
    const ref = await locate('team/bo.jpg', options);
    expect(ref).toMatchObject({ kind: 'file', path: join(images, 'team', 'bo.jpg'), display: 'team/bo.jpg', fingerprint: { size: 8 } });
    expect((await readSource(ref, options)).toString()).toBe('bo-bytes');
  });

  test('stray spaces around the cell are ignored', async () => {
    expect(await locate('  ana.jpg ', options)).toMatchObject({ path: join(images, 'ana.jpg') });
  });

  test('an absolute path inside the images folder is fine', async () => {
    expect(await locate(join(images, 'ana.jpg'), options)).toMatchObject({ kind: 'file', path: join(images, 'ana.jpg') });
  });

  test('a symlink that stays inside resolves to its target', async () => {
    expect(await locate('alias.jpg', options)).toMatchObject({ path: join(images, 'ana.jpg'), display: 'alias.jpg' });
  });

  test('an empty cell is missing_value', async () => {
    expect((await failure(locate('   ', options))).code).toBe('missing_value');
  });

  test.each([
    ['a ../ path', '../secret.jpg'],
    ['a ../ path to nothing (outside wins over missing)', '../nothing.jpg'],
    ['an absolute path outside', '/etc/hostname'],
    ['a sibling folder sharing the prefix (/imgs vs /imgs2)', '../imgs2/x.jpg'],
    ['a symlinked file that escapes', 'escape.jpg'],
    ['a path through a symlinked folder that escapes', 'up/secret.jpg'],
  ])('%s is path_outside_images_dir', async (_name, cell) => {
    const error = await failure(locate(cell, options));
    expect(error.code).toBe('path_outside_images_dir');
    expect(error.message).toContain(cell);
  });

  test('a missing file is file_not_found, also below a file', async () => {
    expect((await failure(locate('nobody.jpg', options))).code).toBe('file_not_found');
    expect((await failure(locate('ana.jpg/inner.jpg', options))).code).toBe('file_not_found');
  });

  test('a folder or a named pipe is file_unreadable, found without opening it', async () => {
    expect(await failure(locate('team', options))).toMatchObject({ code: 'file_unreadable', message: 'team is a folder, not an image file' });
    expect(await failure(locate('pipe.jpg', options))).toMatchObject({ code: 'file_unreadable', message: 'pipe.jpg is a named pipe, not an image file' });
  });

  test('a file over maxSourceBytes is image_too_large before a byte of it is read', async () => {
    expect(await failure(locate('big.jpg', options))).toMatchObject({ code: 'image_too_large', message: expect.stringContaining('2048 bytes') });
  });

  test('a cell that only looks a little like a URL (drive letter, colon in a name) is a path', async () => {
    expect((await failure(locate('C:\\photos\\ana.jpg', options))).code).toBe('file_not_found');
    expect((await failure(locate('jane:doe.jpg', options))).code).toBe('file_not_found');
  });

  test('a missing images folder fails the row, naming the folder', async () => {
    const error = await failure(locate('ana.jpg', { ...options, imagesDir: join(root, 'gone') }));
    expect(error.code).toBe('file_not_found');
    expect(error.message).toContain(join(root, 'gone'));
  });
});

describe('reading a located file', () => {
  test('statSource gives the fingerprint a re-run compares; URLs have none', async () => {
    const ref = await locate('ana.jpg', options);
    expect(await statSource(ref)).toEqual({ size: 9, mtimeMs: expect.any(Number), dev: expect.any(Number), ino: expect.any(Number) });
    expect(await statSource({ kind: 'url', url: new URL('https://cdn.example/a.jpg'), display: 'https://cdn.example/a.jpg' })).toBeUndefined();
  });

  test('a file that grew past the cap after it was located is image_too_large, not read whole', async () => {
    const path = join(images, 'growing.jpg');
    await writeFile(path, 'small');
    const ref = await locate('growing.jpg', options);
    await writeFile(path, Buffer.alloc(4096));
    expect((await failure(readSource(ref, options))).code).toBe('image_too_large');
  });

  test('read into reused buffers, each read gives exactly its own file, even one that grew since it was located', async () => {
    const buffers = new ReadBuffers(1);
    const ana = await readSource(await locate('ana.jpg', options), options, undefined, buffers);
    expect(ana.toString()).toBe('ana-bytes');
    buffers.give(ana);
    const bo = await readSource(await locate('team/bo.jpg', options), options, undefined, buffers);
    expect(bo.buffer).toBe(ana.buffer);
    expect(bo.toString()).toBe('bo-bytes');
    buffers.give(bo);
    const path = join(images, 'grown.jpg');
    await writeFile(path, 'small');
    const ref = await locate('grown.jpg', options);
    await writeFile(path, Buffer.alloc(1000, 7));
    expect(await readSource(ref, options, undefined, buffers)).toEqual(Buffer.alloc(1000, 7));
    expect(await readSource(ref, options)).toEqual(Buffer.alloc(1000, 7));
  });

  test('once a read was slow, reads go through the thread pool and give the same bytes and refusals', async () => {
    const io = new BlockingIo(-1, 0); // found slow at its first operation
    io.run(() => undefined);
    const file = async (cell: string) => {
      const ref = await locate(cell, options);
      if (ref.kind !== 'file') throw new Error('expected a file');
      return ref;
    };
    expect((await readLocatedFile(await file('ana.jpg'), 1024, io)).toString()).toBe('ana-bytes');
    expect((await readLocatedFile(await file('team/bo.jpg'), 1024, io, undefined, new ReadBuffers(1))).toString()).toBe('bo-bytes');
    expect((await failure(readLocatedFile({ path: join(images, 'big.jpg'), display: 'big.jpg' }, 1024, io))).code).toBe('image_too_large');
    expect((await failure(readLocatedFile({ path: join(images, 'pipe.jpg'), display: 'pipe.jpg' }, 1024, io))).code).toBe('file_unreadable');
    expect((await failure(readLocatedFile({ path: join(images, 'gone.jpg'), display: 'gone.jpg' }, 1024, io))).code).toBe('file_not_found');
    const path = join(images, 'growing-later.jpg');
    await writeFile(path, 'small');
    const ref = await file('growing-later.jpg');
    await writeFile(path, Buffer.alloc(4096));
    expect((await failure(readLocatedFile(ref, 1024, io))).code).toBe('image_too_large');
    await writeFile(path, Buffer.alloc(1000, 7));
    expect(await readLocatedFile(ref, 1024, io)).toEqual(Buffer.alloc(1000, 7));
  });

  test('a file removed after it was located is file_not_found', async () => {
    const path = join(images, 'fleeting.jpg');
    await writeFile(path, 'here');
    const ref = await locate('fleeting.jpg', options);
    await rm(path);
    // statSource answers from what locate() saw (no second stat per row); the read notices.
    expect((await failure(readSource(ref, options))).code).toBe('file_not_found');
  });

  test('a file swapped for a symlink after it was located is refused, not followed', async () => {
    const path = join(images, 'swapped.jpg');
    await writeFile(path, 'original');
    const ref = await locate('swapped.jpg', options);
    await rm(path);
    await symlink(join(root, 'secret.jpg'), path);
    expect((await failure(readSource(ref, options))).code).toBe('file_unreadable');
  });

  test('a folder swapped for a link to outside after its files were located is refused at the read', async () => {
    // locate() remembers the real path of each folder for the run; the read must not trust it.
    await mkdir(join(images, 'wave'));
    await writeFile(join(images, 'wave', 'secret.jpg'), 'inside');
    const first = await locate('wave/secret.jpg', options);
    expect((await readSource(first, options)).toString()).toBe('inside');
    await rm(join(images, 'wave'), { recursive: true });
    await symlink(root, join(images, 'wave'));
    const again = await locate('wave/secret.jpg', options);
    expect(await failure(readSource(again, options))).toMatchObject({ code: 'file_unreadable' });
  });

  test('a second file in a folder already seen is located without resolving the folder again, and still checked', async () => {
    await mkdir(join(images, 'many'));
    for (const name of ['a.jpg', 'b.jpg']) await writeFile(join(images, 'many', name), name);
    expect(await locate('many/a.jpg', options)).toMatchObject({ kind: 'file', path: join(images, 'many', 'a.jpg') });
    expect(await locate('many/b.jpg', options)).toMatchObject({ kind: 'file', path: join(images, 'many', 'b.jpg') });
    expect((await failure(locate('many/../../secret.jpg', options))).code).toBe('path_outside_images_dir');
    expect((await failure(locate('many/c.jpg', options))).code).toBe('file_not_found');
  });

  (process.getuid?.() === 0 ? test.skip : test)('a file without read permission is file_unreadable (skipped as root, who may read anything)', async () => {
    const path = join(images, 'locked.jpg');
    await writeFile(path, 'locked');
    await chmod(path, 0o000);
    const ref = await locate('locked.jpg', options);
    expect(await failure(readSource(ref, options))).toMatchObject({ code: 'file_unreadable', message: 'locked.jpg cannot be read: permission denied' });
  });

  test('permission errors from the file system mean file_unreadable, missing ones file_not_found', () => {
    const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(code), { code });
    expect(fileError(errno('EACCES'), 'a.jpg')).toMatchObject({ code: 'file_unreadable', message: 'a.jpg cannot be read: permission denied' });
    expect(fileError(errno('EPERM'), 'a.jpg').code).toBe('file_unreadable');
    expect(fileError(errno('EIO'), 'a.jpg')).toMatchObject({ code: 'file_unreadable', message: 'a.jpg cannot be read (EIO)' });
    expect(fileError(errno('ENOTDIR'), 'a.jpg').code).toBe('file_not_found');
  });

  test('a named pipe handed to readSource fails at once instead of waiting for a writer', async () => {
    const ref = { kind: 'file' as const, path: join(images, 'pipe.jpg'), display: 'pipe.jpg' };
    expect((await failure(readSource(ref, options))).code).toBe('file_unreadable');
  });

  test('an aborted signal stops the read with the abort reason, not a row error', async () => {
    const ref = await locate('ana.jpg', options);
    const controller = new AbortController();
    controller.abort(new Error('shutting down'));
    await expect(readSource(ref, options, controller.signal)).rejects.toThrow('shutting down');
  });
});
