import { parseBytes } from '../../src/options/declare.js';
import { UsageError } from '../../src/errors.js';

describe('--max-bytes and other sizes', () => {
  test.each([
    ['1048576', 1048576],
    ['500k', 512_000],
    ['500K', 512_000],
    ['5MiB', 5 * 1024 * 1024],
    ['1.5M', 1.5 * 1024 * 1024],
    ['2MB', 2_000_000],
    ['300kB', 300_000],
    ['1GiB', 1024 ** 3],
  ])('%s is %d bytes', (text, bytes) => {
    expect(parseBytes(text, { flag: 'max-bytes' })).toBe(bytes);
  });

  test.each(['', 'lots', '-5', '5 parsecs', '0'])('%j is refused with a message naming the option', (text) => {
    expect(() => parseBytes(text, { flag: 'max-bytes' })).toThrow(UsageError);
    expect(() => parseBytes(text, { flag: 'max-bytes' })).toThrow(/--max-bytes/);
  });
});
