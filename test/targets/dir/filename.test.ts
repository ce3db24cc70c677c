import { UsageError } from '../../../src/errors.js';
import { fileNameFor, fileNamer, sameFileKey } from '../../../src/targets/dir/filename.js';

describe('fileNameFor: a user id becomes a readable file name', () => {
  test('ids and e-mail addresses stay readable: lower case, "@" and "." kept', () => {
    expect(fileNameFor('ana')).toBe('ana');
    expect(fileNameFor('Jane.Doe@Example.org')).toBe('jane.doe@example.org');
    expect(fileNameFor('u-123_x')).toBe('u-123_x');
    expect(fileNameFor('Søren.Ørsted')).toBe('søren.ørsted');
  });

  test('decomposed and composed spellings of a name give one file name', () => {
    expect(fileNameFor('Zoe\u0308')).toBe(fileNameFor('Zoë'));
  });

  test('everything that could escape the folder or confuse a file system is encoded', () => {
    for (const id of ['../etc/passwd', 'a/b', 'a\\b', '.hidden', 'trailing.', 'nul\0byte', 'CON', 'con', 'lpt1', 'a:b', 'a*b?']) {
      const name = fileNameFor(id);
      expect(name).not.toMatch(/[/\\\0:*?]/);
      expect(name.startsWith('.')).toBe(false);
      expect(name.endsWith('.')).toBe(false);
      expect(name.split('.')[0]).not.toMatch(/^(con|prn|aux|nul|com\d|lpt\d)$/i);
    }
  });

  test('ids differing only by case share a name, which is how DirTarget detects the clash', () => {
    expect(fileNameFor('Ana')).toBe(fileNameFor('ana'));
  });

  test('otherwise the encoding keeps ids apart, even ignoring case', () => {
    const ids = ['a%2Fb', 'a/b', 'A', '%41', '%', '%25', '', ' ', 'Zoë', 'zoe', 'x'.repeat(300), 'x'.repeat(301)];
    const names = ids.map(fileNameFor);
    expect(new Set(names.map(sameFileKey)).size).toBe(ids.length);
  });

  test('very long ids are shortened within file name limits, still distinct', () => {
    const a = fileNameFor('x'.repeat(1000) + 'a');
    const b = fileNameFor('é'.repeat(1000) + 'b');
    expect(Buffer.byteLength(a)).toBeLessThanOrEqual(200);
    expect(Buffer.byteLength(b)).toBeLessThanOrEqual(200);
    expect(a).not.toBe(fileNameFor('x'.repeat(1000) + 'b'));
  });
});

describe('--file-name', () => {
  test('names files with the template language of --user-template', () => {
    expect(fileNamer('{user|localpart|lower}')('Jane.Doe@Example.org')).toBe('jane.doe');
    expect(fileNamer('staff-{user|slug}')('José Nuñez')).toBe('staff-jose-nunez');
    expect(fileNamer(undefined)('Ana')).toBe('ana');
  });

  test('what the template builds is still made safe', () => {
    expect(fileNamer('{user}')('../x')).toBe('%2E.%2Fx');
  });

  test('a template naming anything but {user} is a usage error', () => {
    expect(() => fileNamer('{email}')).toThrow(UsageError);
    expect(() => fileNamer('{email}')).toThrow(/--file-name "\{email\}": no column "email"; the headers are "user"/);
  });
});
