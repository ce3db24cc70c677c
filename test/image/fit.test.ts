import { RowError } from '../../src/errors.js';
import { edgeSteps, fitToBytes, qualitySteps, type Encoder } from '../../src/image/fit.js';
import { normalise } from '../../src/image/normalise.js';
import { NORMALISE_DEFAULTS, type NormaliseOptions } from '../../src/image/options.js';
import { noisePng } from '../../testkit/images.js';

const options = (overrides: Partial<NormaliseOptions> = {}): NormaliseOptions => ({ ...NORMALISE_DEFAULTS, ...overrides });

/**
 * An encoder whose output size is a formula of edge and quality, recording what is asked of it:
 * the order of attempts and how often the source is decoded are the behaviour under test.
 */
function fakeEncoder(bytes: (edge: number, quality: number) => number, startEdge: number) {
  const calls: string[] = [];
  const encoder: Encoder<'pixels'> = {
    encodeSource: async (quality) => {
      calls.push(`source ${startEdge}@${quality}`);
      return Buffer.alloc(bytes(startEdge, quality));
    },
    decode: async () => {
      calls.push('decode');
      return 'pixels';
    },
    encodePixels: async (pixels, edge, quality) => {
      expect(pixels).toBe('pixels');
      calls.push(`pixels ${edge}@${quality}`);
      return Buffer.alloc(bytes(edge, quality));
    },
  };
  return { encoder, calls };
}

const roughJpegSize = (edge: number, quality: number) => Math.round((edge * edge * quality) / 100);

describe('the steps', () => {
  test('quality goes down by 10 to a floor of 35', () => {
    expect(qualitySteps(85)).toEqual([85, 75, 65, 55, 45, 35]);
    expect(qualitySteps(90)).toEqual([90, 80, 70, 60, 50, 40, 35]);
    expect(qualitySteps(35)).toEqual([35]);
    expect(qualitySteps(20)).toEqual([20]);
  });

  test('the edge then shrinks by ×0.85, ending exactly at --min-size', () => {
    expect(edgeSteps(512, 96)).toEqual([435, 369, 313, 266, 226, 192, 163, 138, 117, 99, 96]);
    expect(edgeSteps(100, 96)).toEqual([96]);
    expect(edgeSteps(96, 96)).toEqual([]);
  });
});

describe('fitToBytes', () => {
  test('the common case is one pass from the source: nothing decoded, nothing re-encoded', async () => {
    const { encoder, calls } = fakeEncoder(roughJpegSize, 512);
    const fitted = await fitToBytes(encoder, { edge: 512, quality: 85 }, { maxBytes: 1_000_000, minSize: 96 });
    expect(calls).toEqual(['source 512@85']);
    expect(fitted).toMatchObject({ edge: 512, quality: 85 });
  });

  test('lowers quality first, decoding the source once and re-encoding its pixels', async () => {
    const { encoder, calls } = fakeEncoder(roughJpegSize, 512);
    // 512² × q/100 ≤ 150 000 first holds at quality 55.
    const fitted = await fitToBytes(encoder, { edge: 512, quality: 85 }, { maxBytes: 150_000, minSize: 96 });
    expect(calls).toEqual(['source 512@85', 'decode', 'pixels 512@75', 'pixels 512@65', 'pixels 512@55']);
    expect(fitted).toMatchObject({ edge: 512, quality: 55 });
    expect(fitted.jpeg.length).toBeLessThanOrEqual(150_000);
  });

  test('then shrinks the edge at the floor quality', async () => {
    const { encoder, calls } = fakeEncoder(roughJpegSize, 512);
    // At quality 35: 435² → 66 229, 369² → 47 656 ≤ 50 000.
    const fitted = await fitToBytes(encoder, { edge: 512, quality: 85 }, { maxBytes: 50_000, minSize: 96 });
    expect(calls.filter((call) => call === 'decode')).toHaveLength(1);
    expect(calls.slice(-3)).toEqual(['pixels 512@35', 'pixels 435@35', 'pixels 369@35']);
    expect(fitted).toMatchObject({ edge: 369, quality: 35 });
  });

  test('fails with too_large_after_compression when even --min-size at the floor is too big', async () => {
    const { encoder, calls } = fakeEncoder(roughJpegSize, 512);
    const failure = fitToBytes(encoder, { edge: 512, quality: 85 }, { maxBytes: 1000, minSize: 96 });
    await expect(failure).rejects.toBeInstanceOf(RowError);
    await expect(failure).rejects.toMatchObject({
      code: 'too_large_after_compression',
      message: expect.stringMatching(/96 px and quality 35 .* 3226 bytes, over --max-bytes 1000/),
    });
    expect(calls.filter((call) => call === 'decode')).toHaveLength(1);
    expect(calls.at(-1)).toBe('pixels 96@35');
  });
});

describe('normalise under a byte cap', () => {
  // Pure noise: about 190 kB at 512 px, quality 85.
  let noise: Buffer;
  beforeAll(async () => {
    noise = await noisePng();
  });

  test('fits by lowering quality, keeping the edge', async () => {
    const avatar = await normalise(noise, options({ maxBytes: 100_000 }));
    expect(avatar.jpeg.length).toBeLessThanOrEqual(100_000);
    expect(avatar.edge).toBe(512);
    expect(avatar.quality).toBeLessThan(85);
    expect(qualitySteps(85)).toContain(avatar.quality);
  });

  test('fits by reducing the edge when quality alone is not enough', async () => {
    const avatar = await normalise(noise, options({ maxBytes: 30_000 }));
    expect(avatar.jpeg.length).toBeLessThanOrEqual(30_000);
    expect(avatar.edge).toBeLessThan(512);
    expect(edgeSteps(512, 96)).toContain(avatar.edge);
    expect(avatar.quality).toBe(35);
  });

  test('fails the row with too_large_after_compression when nothing fits', async () => {
    await expect(normalise(noise, options({ maxBytes: 500 }))).rejects.toMatchObject({
      name: 'RowError',
      code: 'too_large_after_compression',
    });
  });
});
