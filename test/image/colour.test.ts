import sharp from 'sharp';
import { normalise } from '../../src/image/normalise.js';
import { NORMALISE_DEFAULTS, type NormaliseOptions } from '../../src/image/options.js';
import {
  SKIN,
  animated,
  colourDistance,
  halfTransparentPng,
  jpegInSpace,
  pixelAt,
  pixelWithoutProfile,
  png16,
} from '../../testkit/images.js';

const options = (overrides: Partial<NormaliseOptions> = {}): NormaliseOptions => ({ ...NORMALISE_DEFAULTS, ...overrides });

// Each input holds SKIN converted into another colour space and tagged with that space's
// profile. The output must show SKIN again; the stored values read without the profile (what a
// tool that drops it shows) must be clearly off, or the test would prove nothing.
describe('conversion to sRGB through the embedded profile', () => {
  const cases: [string, () => Promise<Buffer>][] = [
    ['Display P3 JPEG', () => jpegInSpace('p3')],
    ['CMYK JPEG', () => jpegInSpace('cmyk')],
    ['Adobe RGB (1998) JPEG', () => jpegInSpace('adobe-rgb')],
    ['16-bit Adobe RGB PNG', () => png16('adobe-rgb')],
  ];

  test.each(cases)('%s comes out as the sRGB skin tone', async (_name, make) => {
    const input = await make();
    expect((await sharp(input).metadata()).hasProfile).toBe(true);
    expect(colourDistance(await pixelWithoutProfile(input, 64, 64), SKIN)).toBeGreaterThanOrEqual(10);

    const avatar = await normalise(input, options());

    expect(colourDistance(await pixelAt(avatar.jpeg, 64, 64), SKIN)).toBeLessThanOrEqual(5);
    // Converted, not tagged: the output has no profile and its values are sRGB as they stand.
    expect((await sharp(avatar.jpeg).metadata()).hasProfile).toBe(false);
  });

  test('a 16-bit PNG without a profile is scaled to 8 bits, not truncated or reinterpreted', async () => {
    const input = await png16('srgb');
    expect((await sharp(input).metadata()).depth).toBe('ushort');
    const avatar = await normalise(input, options());
    expect(colourDistance(await pixelAt(avatar.jpeg, 64, 64), SKIN)).toBeLessThanOrEqual(2);
  });

  test('a greyscale source comes out as 3-channel sRGB', async () => {
    const grey = await sharp({ create: { width: 128, height: 128, channels: 3, background: { r: 90, g: 90, b: 90 } } })
      .toColourspace('b-w')
      .jpeg()
      .toBuffer();
    expect((await sharp(grey).metadata()).channels).toBe(1);
    const avatar = await normalise(grey, options());
    expect((await sharp(avatar.jpeg).metadata()).channels).toBe(3);
  });
});

describe('transparency', () => {
  // 200×120, left half transparent (over hidden red), right half opaque blue; the 120 px centre
  // square spans x 40-160, so its left half was transparent.
  test('is flattened onto white by default', async () => {
    const avatar = await normalise(await halfTransparentPng(), options());
    expect(colourDistance(await pixelAt(avatar.jpeg, 20, 60), [255, 255, 255])).toBeLessThanOrEqual(3);
    expect(colourDistance(await pixelAt(avatar.jpeg, 100, 60), [30, 30, 220])).toBeLessThanOrEqual(5);
  });

  test('is flattened onto --background', async () => {
    const avatar = await normalise(await halfTransparentPng(), options({ background: '#00a0ff' }));
    expect(colourDistance(await pixelAt(avatar.jpeg, 20, 60), [0, 160, 255])).toBeLessThanOrEqual(3);
  });
});

describe('animations', () => {
  // Three 120 px frames: red, green, blue. Reading every frame would stack them into a 120×360
  // strip, whose centre square is the green frame.
  test.each(['gif', 'webp'] as const)('an animated %s gives its first frame', async (format) => {
    const input = await animated(format);
    expect((await sharp(input).metadata()).pages).toBe(3);
    const avatar = await normalise(input, options());
    expect(avatar.edge).toBe(120);
    expect(colourDistance(await pixelAt(avatar.jpeg, 60, 60), [220, 30, 30])).toBeLessThanOrEqual(8);
  });
});
