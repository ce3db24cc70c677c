import { fileNameFor } from '../../../src/targets/dir/filename.js';

describe('fileNameFor: a user id becomes a file name', () => {
  test('plain lowercase ids stay readable', () => {
    expect(fileNameFor('ana')).toBe('ana');
    expect(fileNameFor('jane.doe')).toBe('jane.doe');
    expect(fileNameFor('u-123_x')).toBe('u-123_x');
  });

  test('everything that could escape the folder or confuse a file system is encoded', () => {
    for (const id of ['../etc/passwd', 'a/b', 'a\\b', '.hidden', 'trailing.', 'nul\0byte', 'CON', 'con', 'lpt1']) {
      const name = fileNameFor(id);
      expect(name).not.toMatch(/[/\\\0]/);
      expect(name.startsWith('.')).toBe(false);
      expect(name.endsWith('.')).toBe(false);
      expect(name.split('.')[0]).not.toMatch(/^(con|prn|aux|nul|com\d|lpt\d)$/i);
    }
  });

  test('ids differing only by case get different names, even on case-insensitive file systems', () => {
    expect(fileNameFor('Ana').toLowerCase()).not.toBe(fileNameFor('ana').toLowerCase());
  });

  test('the encoding is injective: an encoded name never equals another id', () => {
    const ids = ['a%2Fb', 'a/b', 'A', '%41', 'a', '%', '%25', '', ' ', 'Zoë', 'zoe', 'x'.repeat(300), 'x'.repeat(301)];
    const names = ids.map(fileNameFor);
    expect(new Set(names.map((n) => n.toLowerCase())).size).toBe(ids.length);
  });

  test('very long ids are shortened within file name limits, still distinct', () => {
    const a = fileNameFor('x'.repeat(1000) + 'a');
    const b = fileNameFor('x'.repeat(1000) + 'b');
    expect(Buffer.byteLength(a)).toBeLessThanOrEqual(200);
    expect(a).not.toBe(b);
  });
});
