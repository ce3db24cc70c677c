// Most photos (JPEGs at least --size on their short edge) are made without a probe (normalise.ts,
// unprobed): the avatar must be the very one the probed path makes, and everything else must still
// be decided, with the same outcome, by the probed path.
import sharp from 'sharp';
import { normalise } from '../../src/image/normalise.js';
import { probe } from '../../src/image/probe.js';
import { toRowError } from '../../src/image/sharp-errors.js';
import { jpegOptions, square } from '../../src/image/square.js';
import { NORMALISE_DEFAULTS, type NormaliseOptions } from '../../src/image/options.js';
import { cameraPhoto, fromPixels, jpegInSpace, ORIENTATIONS, photoPixels, truncatedJpeg } from '../../testkit/images.js';

const options = (overrides: Partial<NormaliseOptions> = {}): NormaliseOptions => ({ ...NORMALISE_DEFAULTS, ...overrides });
/** The probed path's first attempt, step by step: probe, then the square at the probed edge. */
async function probedPath(input: Buffer, opts: NormaliseOptions): Promise<Buffer> {
  const found = await probe(input, opts);
  return square(input, found, Math.min(opts.size, found.width, found.height), opts).jpeg(jpegOptions(opts.quality)).toBuffer();
}

async function same(input: Buffer, overrides: Partial<NormaliseOptions> = {}): Promise<void> {
  const opts = options(overrides);
  const quick = await normalise(input, opts);
  expect(quick.edge).toBe(opts.size);
  expect(quick.quality).toBe(opts.quality);
  expect(quick.jpeg.equals(await probedPath(input, opts))).toBe(true);
}

describe('a JPEG at least --size on its short edge', () => {
  test.each(ORIENTATIONS)('EXIF orientation %i: the same bytes as the probed path', async (orientation) => {
    await same(await cameraPhoto({ width: 700, height: 560, seed: orientation, orientation }));
  });

  test('exactly --size on its short edge, a crop by attention, another size and quality: the same bytes', async () => {
    const photo = await cameraPhoto({ width: 900, height: 512, seed: 3 });
    await same(photo);
    await same(photo, { crop: 'attention' });
    await same(photo, { size: 256, quality: 70 });
  });

  test('greyscale, CMYK and wide-gamut JPEGs: the same bytes', async () => {
    const grey = await fromPixels(photoPixels(600, 600, 5), 600, 600).greyscale().jpeg().toBuffer();
    await same(grey);
    await same(await jpegInSpace('cmyk', undefined, 600));
    await same(await jpegInSpace('p3', undefined, 600));
  });
});

describe('left to the probed path', () => {
  test('a JPEG smaller than --size still becomes a square of its short edge', async () => {
    const avatar = await normalise(await cameraPhoto({ width: 400, height: 300, orientation: 6 }), options());
    expect(avatar.edge).toBe(300);
    expect(await sharp(avatar.jpeg).metadata()).toMatchObject({ width: 300, height: 300 });
  });

  test('a JPEG over the byte cap at --size is stepped down as before', async () => {
    const photo = await cameraPhoto({ width: 1200, height: 1200, seed: 9 });
    const opts = options({ maxBytes: 8_000 });
    expect((await probedPath(photo, opts)).length).toBeGreaterThan(8_000);
    const capped = await normalise(photo, opts);
    expect(capped.jpeg.length).toBeLessThanOrEqual(8_000);
    expect(capped.quality < NORMALISE_DEFAULTS.quality || capped.edge < NORMALISE_DEFAULTS.size).toBe(true);
  });

  test('a JPEG over --max-pixels and a truncated one fail as the probe and the decoder say', async () => {
    const photo = await cameraPhoto({ width: 800, height: 600 });
    await expect(normalise(photo, options({ maxPixels: 100_000 }))).rejects.toMatchObject({
      code: 'image_too_large', message: '800×600 is 0.5 MP, over --max-pixels 0.1 MP (refused without decoding)',
    });
    const broken = await truncatedJpeg();
    const error = await normalise(broken, options({ size: 256 })).catch((caught: unknown) => caught);
    const direct = await probedPath(broken, options({ size: 256 })).catch((caught: unknown) => toRowError(caught));
    expect(error).toMatchObject({ code: 'unsupported_image', message: (direct as Error).message });
  });
});
