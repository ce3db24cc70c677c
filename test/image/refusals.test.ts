import { RowError } from '../../src/errors.js';
import { closeHeicDecoders } from '../../src/image/heic/decode.js';
import { normalise } from '../../src/image/normalise.js';
import { NORMALISE_DEFAULTS, type NormaliseOptions } from '../../src/image/options.js';
import { sniff } from '../../src/image/probe.js';
import {
  SKIN,
  cameraPhoto,
  colourDistance,
  fakeHeic,
  pixelAt,
  pngPixelBomb,
  solidImage,
  svg,
  truncated,
  truncatedJpeg,
} from '../../testkit/images.js';

const options = (overrides: Partial<NormaliseOptions> = {}): NormaliseOptions => ({ ...NORMALISE_DEFAULTS, ...overrides });

async function failure(input: Buffer, settings = options()): Promise<RowError> {
  try {
    await normalise(input, settings);
  } catch (error) {
    return error as RowError;
  }
  throw new Error('normalise succeeded where it should have failed');
}

describe('not an image, corrupt or truncated → unsupported_image', () => {
  test('text is not an image', async () => {
    const error = await failure(Buffer.from('user_id,photo\nana,ana.jpg\n'));
    expect(error).toBeInstanceOf(RowError);
    expect(error.code).toBe('unsupported_image');
    expect(error.message).toMatch(/not an image/);
  });

  test('an HTML page saved instead of a photo says so', async () => {
    const error = await failure(Buffer.from('<!DOCTYPE html><html><body>Please sign in</body></html>'));
    expect(error.code).toBe('unsupported_image');
    expect(error.message).toMatch(/HTML/);
  });

  test('an empty file', async () => {
    expect((await failure(Buffer.alloc(0))).message).toMatch(/empty/);
  });

  test('a truncated JPEG fails instead of giving the top half over grey', async () => {
    const error = await failure(await truncatedJpeg());
    expect(error.code).toBe('unsupported_image');
    expect(error.message).toMatch(/corrupt or truncated/);
    expect(error.cause).toBeInstanceOf(Error); // sharp's own error, kept for --verbose
  });

  test('a truncated PNG fails', async () => {
    const png = await solidImage('png', SKIN, { width: 300, height: 300 });
    expect((await failure(truncated(png))).code).toBe('unsupported_image');
  });

  test('no raw sharp error escapes, whatever the damage', async () => {
    const jpeg = await cameraPhoto({ width: 320, height: 240 });
    const scrambled = Buffer.from(jpeg);
    scrambled.fill(0x55, 600, 2000);
    const inputs = [
      truncated(jpeg, 0.02),
      scrambled,
      Buffer.concat([jpeg.subarray(0, 4), Buffer.alloc(500, 0xff)]),
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
      truncated(await solidImage('webp', SKIN)),
      Buffer.from('GIF89a'),
      Buffer.from('II*\0'),
    ];
    for (const input of inputs) {
      const error = await failure(input);
      expect(error).toBeInstanceOf(RowError);
      expect(error.code).toBe('unsupported_image');
    }
  });
});

describe('SVG', () => {
  test('is refused by default, saying why and how to opt in', async () => {
    const error = await failure(svg());
    expect(error.code).toBe('unsupported_image');
    expect(error.message).toMatch(/reference other files/);
    expect(error.message).toMatch(/--allow-svg/);
  });

  test('is refused even behind leading whitespace and a BOM', async () => {
    expect(sniff(Buffer.concat([Buffer.from('\uFEFF  \n'), svg()]))).toBe('svg');
  });

  test('is rendered at --size when allowed (a vector is never "too small")', async () => {
    const avatar = await normalise(svg({ size: 64 }), options({ allowSvg: true }));
    expect(avatar.edge).toBe(512);
    expect(colourDistance(await pixelAt(avatar.jpeg, 256, 256), SKIN)).toBeLessThanOrEqual(3);
  });
});

describe('HEIC', () => {
  afterAll(closeHeicDecoders);

  // Real HEIC is decoded (test/image/heic.test.ts); what fails is a file that only claims to be.
  test.each(['heic', 'heix', 'hevc'])('an ftyp brand %s without a decodable image is unsupported_image', async (brand) => {
    const error = await failure(fakeHeic(brand));
    expect(error.code).toBe('unsupported_image');
    expect(error.message).toMatch(/^HEIC\/HEIF could not be decoded: /);
  });

  test('AVIF, in the same container, still works', async () => {
    const avatar = await normalise(await solidImage('avif', SKIN), options());
    expect(avatar.edge).toBe(128);
  });
});

describe('pixel bombs → image_too_large, from the header', () => {
  // The bomb claims 30000×30000 but holds one row of pixels: decoding it would have failed as
  // truncated (unsupported_image). image_too_large, with the size read from IHDR in the message,
  // shows the header probe decided before any decoding.
  test('a PNG claiming 900 MP is refused before decoding', async () => {
    const bomb = pngPixelBomb();
    expect(bomb.length).toBeLessThan(1000);
    const error = await failure(bomb);
    expect(error.code).toBe('image_too_large');
    expect(error.message).toMatch(/30000×30000 is 900\.0 MP, over --max-pixels 100\.0 MP/);
  });

  test('--max-pixels sets the limit', async () => {
    const photo = await cameraPhoto({ width: 800, height: 600 });
    expect((await failure(photo, options({ maxPixels: 400_000 }))).code).toBe('image_too_large');
    expect((await normalise(photo, options({ maxPixels: 480_000 }))).edge).toBe(512);
  });
});
