import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FailureWatch, describeVerdict, fileNotFoundHint, suggestImagesDir } from '../../src/pipeline/misconfiguration.js';
import { tempDir } from '../support/cli.js';

const missing = (i: number) => ({ status: 'failed' as const, code: 'file_not_found', cell: `IMG_${i}.JPG`, user: `u${i}` });
const ok = { status: 'ok' as const };

describe('stopping a run that is clearly misconfigured', () => {
  test('45 of the first 50 rows failing with one code halts, the moment the 50th finishes', () => {
    const watch = new FailureWatch();
    for (let i = 0; i < 5; i++) expect(watch.observe(ok)).toBeUndefined();
    for (let i = 0; i < 44; i++) expect(watch.observe(missing(i))).toBeUndefined();
    const verdict = watch.observe(missing(44));
    expect(verdict).toMatchObject({ code: 'file_not_found', failed: 45, judged: 50 });
    expect(verdict!.cells).toHaveLength(20);
    expect(describeVerdict(verdict!)).toContain('45 of the first 50 rows failed with file_not_found');
  });

  test('44 of 50 does not: one bad folder of photos is a row problem', () => {
    const watch = new FailureWatch();
    for (let i = 0; i < 6; i++) watch.observe(ok);
    for (let i = 0; i < 43; i++) watch.observe(missing(i));
    expect(watch.observe(missing(43))).toBeUndefined();
    expect(watch.observe(missing(99))).toBeUndefined();
    expect(watch.finish()).toBeUndefined();
  });

  test('failures of different codes do not add up', () => {
    const watch = new FailureWatch();
    for (let i = 0; i < 25; i++) watch.observe(missing(i));
    let verdict;
    for (let i = 0; i < 25; i++) verdict = watch.observe({ status: 'failed', code: 'image_too_small' });
    expect(verdict).toBeUndefined();
  });

  test('a short run is judged at its end: 15 of 16 halts, 1 of 1 does not', () => {
    const sixteen = new FailureWatch();
    sixteen.observe(ok);
    for (let i = 0; i < 15; i++) sixteen.observe(missing(i));
    expect(sixteen.finish()).toMatchObject({ code: 'file_not_found', failed: 15, judged: 16 });
    const one = new FailureWatch();
    one.observe(missing(1));
    expect(one.finish()).toBeUndefined();
  });

  test('ratio 0 turns the watch off', () => {
    const watch = new FailureWatch({ ratio: 0, window: 50, minimum: 10 });
    for (let i = 0; i < 60; i++) expect(watch.observe(missing(i))).toBeUndefined();
    expect(watch.finish()).toBeUndefined();
  });

  test('a watch judges once', () => {
    const watch = new FailureWatch({ ratio: 0.9, window: 2, minimum: 1 });
    watch.observe(missing(1));
    expect(watch.observe(missing(2))).toBeDefined();
    expect(watch.observe(missing(3))).toBeUndefined();
    expect(watch.finish()).toBeUndefined();
  });
});

describe('the hint for photos that are not where they were looked for', () => {
  test('finds the subfolder (two levels down) that holds the missing files', async () => {
    const root = await tempDir();
    await mkdir(join(root, 'exports', 'photos'), { recursive: true });
    await mkdir(join(root, 'other'), { recursive: true });
    for (const name of ['IMG_1.JPG', 'IMG_2.JPG', 'IMG_3.JPG']) await writeFile(join(root, 'exports', 'photos', name), 'x');
    await writeFile(join(root, 'other', 'IMG_1.JPG'), 'x');
    expect(await suggestImagesDir(root, ['IMG_1.JPG', 'IMG_2.JPG', 'IMG_3.JPG', 'IMG_4.JPG'])).toBe(join(root, 'exports', 'photos'));
    const hint = await fileNotFoundHint(root, ['IMG_1.JPG', 'IMG_2.JPG', 'IMG_3.JPG']);
    expect(hint).toContain(`looked for in ${root} (e.g. ${join(root, 'IMG_1.JPG')})`);
    expect(hint).toContain(`use --images-dir ${join(root, 'exports', 'photos')}`);
  });

  test('cells with a folder part and Windows separators are tried as written', async () => {
    const root = await tempDir();
    await mkdir(join(root, 'hr', '2024', 'Q3'), { recursive: true });
    await writeFile(join(root, 'hr', '2024', 'Q3', 'a.jpg'), 'x');
    expect(await suggestImagesDir(root, ['2024\\Q3\\a.jpg'])).toBe(join(root, 'hr'));
  });

  test('says only where it looked when the files are nowhere below', async () => {
    const root = await tempDir();
    await mkdir(join(root, 'a', 'b', 'c'), { recursive: true });
    await writeFile(join(root, 'a', 'b', 'c', 'IMG_1.JPG'), 'x');
    expect(await suggestImagesDir(root, ['IMG_1.JPG'])).toBeUndefined();
    expect(await fileNotFoundHint(root, ['IMG_1.JPG'])).toBe(`the photos were looked for in ${root} (e.g. ${join(root, 'IMG_1.JPG')}); check --images-dir and the image column`);
  });
});
