import { UsageError } from '../../src/errors.js';
import { normalise, settingsKey } from '../../src/image/normalise.js';
import { NORMALISE_DEFAULTS, type NormaliseOptions } from '../../src/image/options.js';
import { svg } from '../../testkit/images.js';

const options = (overrides: Partial<NormaliseOptions> = {}): NormaliseOptions => ({ ...NORMALISE_DEFAULTS, ...overrides });

describe('settingsKey', () => {
  test('is 16 hex characters, the same for the same options', () => {
    const key = settingsKey(options());
    expect(key).toMatch(/^[0-9a-f]{16}$/);
    expect(settingsKey({ ...options() })).toBe(key);
  });

  test.each<[string, Partial<NormaliseOptions>]>([
    ['size', { size: 500 }],
    ['minSize', { minSize: 128 }],
    ['maxBytes', { maxBytes: 512 * 1024 }],
    ['quality', { quality: 80 }],
    ['crop', { crop: 'attention' }],
    ['background', { background: 'black' }],
  ])('changes when %s changes (the output bytes can change)', (_name, change) => {
    expect(settingsKey(options(change))).not.toBe(settingsKey(options()));
  });

  test.each<[string, Partial<NormaliseOptions>]>([
    ['allowSvg', { allowSvg: true }],
    ['maxPixels', { maxPixels: 50_000_000 }],
    ['the spelling of the background colour', { background: 'White' }],
  ])('does not change with %s (accepted images come out the same)', (_name, change) => {
    expect(settingsKey(options(change))).toBe(settingsKey(options()));
  });
});

describe('invalid options are usage errors naming the flag, not failed rows', () => {
  test.each<[Partial<NormaliseOptions>, RegExp]>([
    [{ quality: 0 }, /--quality expects a whole number from 1 to 100, got 0/],
    [{ quality: 85.5 }, /--quality/],
    [{ size: -1 }, /--size/],
    [{ minSize: 600 }, /--min-size \(600\) cannot be larger than the edge \(512\)/],
    [{ maxBytes: 0 }, /--max-bytes/],
    [{ maxPixels: Number.NaN }, /--max-pixels/],
    [{ crop: 'middle' as 'centre' }, /--crop expects one of centre, attention, got "middle"/],
    [{ background: 'not-a-colour' }, /--background expects a CSS colour .*"not-a-colour"/],
  ])('%o', async (change, message) => {
    expect(() => settingsKey(options(change))).toThrow(UsageError);
    expect(() => settingsKey(options(change))).toThrow(message);
    await expect(normalise(svg(), options(change))).rejects.toBeInstanceOf(UsageError);
  });
});
