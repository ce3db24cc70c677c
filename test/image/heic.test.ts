import sharp from 'sharp';
import { closeHeicDecoders } from '../../src/image/heic/decode.js';
import { normalise } from '../../src/image/normalise.js';
import { NORMALISE_DEFAULTS, type NormaliseOptions } from '../../src/image/options.js';
import { heifEnc, withTransforms } from '../../testkit/heic.js';
import { QUADRANTS, SKIN, colourDistance, fakeHeic, jpegInSpace, pixelAt, quadrantJpeg } from '../../testkit/images.js';

// Real HEIC files from heif-enc (as an iPhone would write them, transforms included), decoded by
// libheif-js in worker threads, then through the same pipeline as every photo.

const options = (overrides: Partial<NormaliseOptions> = {}): NormaliseOptions => ({ ...NORMALISE_DEFAULTS, size: 128, minSize: 32, ...overrides });

afterAll(closeHeicDecoders);

async function corners(jpeg: Buffer, edge: number): Promise<number[][]> {
  const at = Math.round(edge * 0.15);
  const far = edge - 1 - at;
  return Promise.all([pixelAt(jpeg, at, at), pixelAt(jpeg, far, at), pixelAt(jpeg, at, far), pixelAt(jpeg, far, far)]);
}

function expectQuadrants(found: number[][]): void {
  const wanted = [QUADRANTS.topLeft, QUADRANTS.topRight, QUADRANTS.bottomLeft, QUADRANTS.bottomRight];
  found.forEach((colour, i) => expect(colourDistance(colour, wanted[i]!)).toBeLessThanOrEqual(12));
}

describe('HEIC/HEIF photos', () => {
  test('are decoded and come out as a square baseline JPEG without metadata', async () => {
    const heic = await heifEnc(await quadrantJpeg({ width: 256, height: 256, orientation: 1 }));
    const avatar = await normalise(heic, options());
    const meta = await sharp(avatar.jpeg).metadata();
    expect({ format: meta.format, width: meta.width, height: meta.height, exif: meta.exif, icc: meta.hasProfile }).toEqual({
      format: 'jpeg', width: 128, height: 128, exif: undefined, icc: false,
    });
    expectQuadrants(await corners(avatar.jpeg, 128));
  });

  test.each([
    ['irot 90° anticlockwise', 8, { turns: 1 }],
    ['irot 180°', 3, { turns: 2 }],
    ['irot 270° anticlockwise', 6, { turns: 3 }],
  ] as const)('%s is applied, and the Exif orientation heif-enc copied is ignored, as HEIF requires', async (_name, orientation, transforms) => {
    // The stored pixels are those of a camera held sideways; the Exif tag (which HEIF readers
    // must ignore) and the irot transform both describe the same turn.
    const stored = await heifEnc(await quadrantJpeg({ width: 256, height: 192, orientation }));
    const avatar = await normalise(withTransforms(stored, transforms), options({ size: 192 }));
    expect(avatar.edge).toBe(192);
    const sideways = await normalise(stored, options({ size: 192 }));
    expect(colourDistance((await corners(sideways.jpeg, 192))[0]!, QUADRANTS.topLeft)).toBeGreaterThan(12);
    // Upright, then centre-cropped to a square: the four quarters are where a person sees them.
    expectQuadrants(await corners(avatar.jpeg, 192));
  });

  test('imir mirroring is applied', async () => {
    const mirrored = await heifEnc(await quadrantJpeg({ width: 256, height: 256, orientation: 2 }));
    const avatar = await normalise(withTransforms(mirrored, { mirror: 1 }), options());
    expectQuadrants(await corners(avatar.jpeg, 128));
  });

  test('the embedded Display P3 profile is converted to sRGB', async () => {
    const heic = await heifEnc(await jpegInSpace('p3'), 95);
    const avatar = await normalise(heic, options());
    expect(colourDistance(await pixelAt(avatar.jpeg, 64, 64), SKIN)).toBeLessThanOrEqual(6);
    expect((await sharp(avatar.jpeg).metadata()).hasProfile).toBe(false);
  });

  test('several decode at once', async () => {
    const heic = await heifEnc(await quadrantJpeg({ width: 256, height: 256, orientation: 1 }));
    const avatars = await Promise.all(Array.from({ length: 4 }, () => normalise(heic, options())));
    expect(new Set(avatars.map((avatar) => avatar.sha256)).size).toBe(1);
  });

  test('more pixels than --max-pixels is image_too_large, refused without decoding', async () => {
    const heic = await heifEnc(await quadrantJpeg({ width: 256, height: 256, orientation: 1 }));
    await expect(normalise(heic, options({ maxPixels: 256 * 255 }))).rejects.toMatchObject({
      code: 'image_too_large', message: expect.stringMatching(/^256×256 is 0\.1 MP, over --max-pixels/),
    });
  });

  test.each(['heic', 'mif1'])('a file that only looks like HEIC (brand %s) is unsupported_image', async (brand) => {
    await expect(normalise(fakeHeic(brand), options())).rejects.toMatchObject({
      code: 'unsupported_image', message: expect.stringMatching(/^HEIC\/HEIF could not be decoded: /),
    });
  });
});
