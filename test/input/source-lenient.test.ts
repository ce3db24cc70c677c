import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RowError } from '../../src/errors.js';
import { locate, type SourceOptions } from '../../src/input/source.js';

// Cells as HR systems and people write them, files as Macs, cameras and shares store them.

let root: string;
let images: string;
let elsewhere: string;
let warnings: string[];
let options: SourceOptions;

beforeAll(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), 'avatar-lenient-')));
  images = join(root, 'imgs');
  elsewhere = join(root, 'hr-share');
  await mkdir(join(images, '2024', 'Q3'), { recursive: true });
  await mkdir(join(images, 'Team'), { recursive: true });
  await mkdir(elsewhere);
  await writeFile(join(images, '2024', 'Q3', 'jdoe.jpg'), 'jdoe');
  await writeFile(join(images, 'Zoe\u0308.jpg'), 'zoe-nfd'); // as copied from a Mac
  await writeFile(join(images, 'J\u00f6rg.jpg'), 'jorg-nfc');
  await writeFile(join(images, 'IMG_4021.JPG'), 'camera');
  await writeFile(join(images, 'Team', 'bo.jpg'), 'bo');
  await writeFile(join(images, 'twin.jpg'), 'a');
  await writeFile(join(images, 'TWIN.jpg'), 'b');
  await writeFile(join(root, 'secret.jpg'), 'secret');
  await writeFile(join(elsewhere, 'cy.jpg'), 'cy');
  await symlink(root, join(images, 'up'));
  await symlink(join(elsewhere, 'cy.jpg'), join(images, 'cy.jpg'));
  await symlink(join(root, 'secret.jpg'), join(images, 'secret.jpg'));
});

beforeEach(() => {
  warnings = [];
  options = { imagesDir: images, allowHosts: [], timeoutMs: 1000, maxSourceBytes: 1024, warn: (message) => warnings.push(message) };
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function failure(attempt: Promise<unknown>): Promise<RowError> {
  const error = await attempt.then(() => undefined, (caught: unknown) => caught);
  if (!(error instanceof RowError)) throw new Error(`expected a RowError, got ${String(error)}`);
  return error;
}

describe('paths as people write them', () => {
  test('Windows separators find the file', async () => {
    expect(await locate('2024\\Q3\\jdoe.jpg', options)).toMatchObject({ path: join(images, '2024', 'Q3', 'jdoe.jpg'), display: '2024\\Q3\\jdoe.jpg' });
    expect(warnings).toEqual([]);
  });

  test('a composed name in the cell finds a decomposed file name, and the reverse, without a warning', async () => {
    expect(await locate('Zo\u00eb.jpg', options)).toMatchObject({ path: join(images, 'Zoe\u0308.jpg') });
    expect(await locate('Jo\u0308rg.jpg', options)).toMatchObject({ path: join(images, 'J\u00f6rg.jpg') });
    expect(warnings).toEqual([]);
  });

  test('a name differing only in case from exactly one file is used, with a warning', async () => {
    expect(await locate('img_4021.jpg', options)).toMatchObject({ path: join(images, 'IMG_4021.JPG') });
    expect(await locate('team/BO.jpg', options)).toMatchObject({ path: join(images, 'Team', 'bo.jpg') });
    expect(warnings).toEqual([
      'img_4021.jpg: img_4021.jpg was found as IMG_4021.JPG (the name differs in case)',
      'team/BO.jpg: team/BO.jpg was found as Team/bo.jpg (the name differs in case)',
    ]);
  });

  test('two files matching ignoring case are not guessed between', async () => {
    expect((await failure(locate('Twin.jpg', options))).code).toBe('file_not_found');
  });

  test('matching leniently never leads outside the images folder', async () => {
    expect((await failure(locate('UP/secret.jpg', options))).code).toBe('path_outside_images_dir');
    expect((await failure(locate('..\\secret.jpg', options))).code).toBe('path_outside_images_dir');
    expect((await failure(locate('../IMGS/../Secret.jpg', options))).code).toBe('path_outside_images_dir');
  });
});

describe('--follow-symlinks and --allow-path', () => {
  test('off by default: a link that leads out is refused', async () => {
    expect((await failure(locate('cy.jpg', options))).code).toBe('path_outside_images_dir');
  });

  test('on, a link inside the folder may lead out (an HR share mounted elsewhere)', async () => {
    expect(await locate('cy.jpg', { ...options, followSymlinks: true })).toMatchObject({ path: join(elsewhere, 'cy.jpg') });
  });

  test('with --allow-path, the link target must be under one of the roots', async () => {
    const follow = { ...options, followSymlinks: true, allowPaths: [elsewhere] };
    expect(await locate('cy.jpg', follow)).toMatchObject({ path: join(elsewhere, 'cy.jpg') });
    const refused = await failure(locate('secret.jpg', follow));
    expect(refused.code).toBe('path_outside_images_dir');
    expect(refused.message).toBe(`secret.jpg links to ${join(root, 'secret.jpg')}, outside the images folder and every --allow-path (${elsewhere})`);
    expect(await locate('2024/Q3/jdoe.jpg', follow)).toMatchObject({ path: join(images, '2024', 'Q3', 'jdoe.jpg') });
  });

  test('a path written to leave the folder is refused even when following links', async () => {
    const follow = { ...options, followSymlinks: true };
    expect((await failure(locate('../secret.jpg', follow))).code).toBe('path_outside_images_dir');
    expect((await failure(locate(join(root, 'secret.jpg'), follow))).code).toBe('path_outside_images_dir');
  });
});
