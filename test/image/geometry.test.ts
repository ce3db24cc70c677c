import sharp from 'sharp';
import { normalise } from '../../src/image/normalise.js';
import { NORMALISE_DEFAULTS, type NormaliseOptions } from '../../src/image/options.js';
import {
  ORIENTATIONS,
  QUADRANTS,
  cameraPhoto,
  colourDistance,
  fromPixels,
  pixelAt,
  quadrantJpeg,
  solidPixels,
} from '../../testkit/images.js';

const options = (overrides: Partial<NormaliseOptions> = {}): NormaliseOptions => ({ ...NORMALISE_DEFAULTS, ...overrides });

async function size(jpeg: Buffer): Promise<[number, number]> {
  const { width, height } = await sharp(jpeg).metadata();
  return [width, height];
}

/** Which quarter's colour a pixel shows (and that it is close to one at all). */
function nearestQuadrant(colour: number[]): string {
  const [name, distance] = Object.entries(QUADRANTS)
    .map(([quarter, reference]) => [quarter, colourDistance(colour, reference)] as const)
    .sort((a, b) => a[1] - b[1])[0]!;
  return distance <= 20 ? name : `none (${colour.join(',')})`;
}

describe('EXIF orientation', () => {
  // Upright the picture is 300×200 with four coloured quarters; stored rotated/mirrored as the
  // tag says. The 200 px square centre crop keeps a 100 px block of each quarter in its corners.
  test.each(ORIENTATIONS)('orientation %i comes out upright, with no orientation tag left', async (orientation) => {
    const input = await quadrantJpeg({ width: 300, height: 200, orientation });
    expect((await sharp(input).metadata()).orientation).toBe(orientation);

    const avatar = await normalise(input, options());

    expect(avatar.edge).toBe(200);
    expect(await size(avatar.jpeg)).toEqual([200, 200]);
    expect((await sharp(avatar.jpeg).metadata()).orientation).toBeUndefined();
    const corners = {
      topLeft: nearestQuadrant(await pixelAt(avatar.jpeg, 30, 30)),
      topRight: nearestQuadrant(await pixelAt(avatar.jpeg, 170, 30)),
      bottomLeft: nearestQuadrant(await pixelAt(avatar.jpeg, 30, 170)),
      bottomRight: nearestQuadrant(await pixelAt(avatar.jpeg, 170, 170)),
    };
    expect(corners).toEqual({ topLeft: 'topLeft', topRight: 'topRight', bottomLeft: 'bottomLeft', bottomRight: 'bottomRight' });
  });
});

describe('square crop and resize', () => {
  test('a large landscape photo becomes a size×size square', async () => {
    const avatar = await normalise(await cameraPhoto({ width: 1600, height: 1200 }), options());
    expect(avatar.edge).toBe(512);
    expect(await size(avatar.jpeg)).toEqual([512, 512]);
  });

  test('a portrait photo tagged to rotate is cropped on its upright long edge', async () => {
    // Stored 1200×900 (landscape sensor), shown 900×1200: the square is 512 either way, but the
    // crop must be taken from the upright picture, which the orientation test checks by pixels.
    const avatar = await normalise(await cameraPhoto({ width: 1200, height: 900, orientation: 6 }), options());
    expect(await size(avatar.jpeg)).toEqual([512, 512]);
  });

  test('a source smaller than --size gives a smaller square, never an upscaled one', async () => {
    const input = await fromPixels(solidPixels(300, 400, [90, 120, 150]), 300, 400).png().toBuffer();
    const avatar = await normalise(input, options());
    expect(avatar.edge).toBe(300);
    expect(await size(avatar.jpeg)).toEqual([300, 300]);
  });

  test('a short edge exactly at --min-size is accepted', async () => {
    const input = await fromPixels(solidPixels(96, 400, [90, 120, 150]), 96, 400).png().toBuffer();
    expect((await normalise(input, options())).edge).toBe(96);
  });

  test('a short edge under --min-size fails with image_too_small, naming both numbers', async () => {
    const input = await fromPixels(solidPixels(80, 400, [90, 120, 150]), 80, 400).png().toBuffer();
    await expect(normalise(input, options())).rejects.toMatchObject({
      name: 'RowError',
      code: 'image_too_small',
      message: expect.stringMatching(/80 px.*--min-size 96/),
    });
  });

  describe('crop position', () => {
    // A 600×200 grey picture with a skin-coloured disc near its right end: the centre square
    // (x 200-400) misses it, the attention strategy finds it.
    let input: Buffer;
    beforeAll(async () => {
      const width = 600;
      const height = 200;
      const pixels = solidPixels(width, height, [128, 128, 128]);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) if ((x - 510) ** 2 + (y - 100) ** 2 < 60 ** 2) pixels.set([230, 120, 90], (y * width + x) * 3);
      }
      input = await fromPixels(pixels, width, height).png().toBuffer();
    });

    async function warmPixels(jpeg: Buffer): Promise<number> {
      const { data } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
      let count = 0;
      for (let i = 0; i < data.length; i += 3) if (data[i]! - data[i + 2]! > 60) count++;
      return count;
    }

    test('centre keeps the middle of the picture', async () => {
      expect(await warmPixels((await normalise(input, options({ crop: 'centre' }))).jpeg)).toBe(0);
    });

    test('attention moves the square to the salient subject', async () => {
      const avatar = await normalise(input, options({ crop: 'attention' }));
      expect(avatar.edge).toBe(200);
      expect(await warmPixels(avatar.jpeg)).toBeGreaterThan(5000);
    });
  });
});
