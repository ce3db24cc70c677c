// The generators in testkit/images.ts are oracles for other tests, fixtures and benchmarks:
// check that they make what they claim.

import sharp from 'sharp';
import {
  SKIN,
  adobeRgbIccProfile,
  cameraPhoto,
  colourDistance,
  jpegInSpace,
  pixelAt,
  srgbToAdobeRgb,
} from '../../testkit/images.js';

function colorant(profile: Buffer, signature: string): number[] {
  const count = profile.readUInt32BE(128);
  for (let i = 0; i < count; i++) {
    const entry = 132 + i * 12;
    if (profile.toString('latin1', entry, entry + 4) !== signature) continue;
    const offset = profile.readUInt32BE(entry + 4);
    return [0, 1, 2].map((c) => profile.readInt32BE(offset + 8 + c * 4) / 65536);
  }
  throw new Error(`no ${signature} tag`);
}

describe('the generated Adobe RGB (1998) profile', () => {
  test('has the published D50-adapted colorants', () => {
    const profile = adobeRgbIccProfile();
    expect(profile.readUInt32BE(0)).toBe(profile.length);
    expect(profile.toString('latin1', 36, 40)).toBe('acsp');
    // The values in Adobe's own AdobeRGB1998.icc.
    const published: Record<string, number[]> = {
      rXYZ: [0.6097, 0.3111, 0.0195],
      gXYZ: [0.2053, 0.6257, 0.0609],
      bXYZ: [0.1492, 0.0632, 0.7446],
    };
    for (const [tag, xyz] of Object.entries(published)) {
      colorant(profile, tag).forEach((value, i) => expect(value).toBeCloseTo(xyz[i]!, 3));
    }
  });

  test('is used by lcms: sharp converting into it gives the published math', async () => {
    const stored = await pixelAt(await jpegInSpace('adobe-rgb'), 64, 64);
    const expected = srgbToAdobeRgb(SKIN).map((c) => c * 255);
    expect(colourDistance(stored, expected)).toBeLessThanOrEqual(2);
  });
});

describe('cameraPhoto', () => {
  test('is deterministic for a seed, different across seeds', async () => {
    const a = await cameraPhoto({ width: 320, height: 240, seed: 5 });
    expect((await cameraPhoto({ width: 320, height: 240, seed: 5 })).equals(a)).toBe(true);
    expect((await cameraPhoto({ width: 320, height: 240, seed: 6 })).equals(a)).toBe(false);
  });

  test('a 12 MP photo is camera-sized: a few MB', async () => {
    const photo = await cameraPhoto({ width: 4000, height: 3000, seed: 1, orientation: 6 });
    expect(photo.length).toBeGreaterThan(2_000_000);
    expect(photo.length).toBeLessThan(8_000_000);
    const metadata = await sharp(photo).metadata();
    expect([metadata.width, metadata.height, metadata.orientation]).toEqual([4000, 3000, 6]);
  });
});
