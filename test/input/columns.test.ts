import { UsageError } from '../../src/errors.js';
import { pickColumns } from '../../src/input/csv.js';

describe('choosing the id and image columns', () => {
  test.each([
    [['user_id', 'email', 'photo'], 'user_id', 'photo'],
    [['Email', 'Name', 'Picture'], 'Email', 'Picture'],
    [['User ID', 'Avatar'], 'User ID', 'Avatar'],
    [['user-id', 'IMAGE'], 'user-id', 'IMAGE'],
    [['login', 'uid', 'file', 'path'], 'login', 'path'],
  ])('usual headers are found without options: %j', (headers, id, image) => {
    expect(pickColumns(headers, {})).toEqual({ id, image });
  });

  test('when several usual headers are present, the earlier kind in the list wins, not the earlier column', () => {
    expect(pickColumns(['email', 'username', 'id', 'file', 'photo'], {})).toEqual({ id: 'id', image: 'photo' });
  });

  test('explicit names win over detection and match loosely', () => {
    expect(pickColumns(['id', 'photo', 'Staff Number', 'Badge Picture'], { idColumn: 'staff_number', imageColumn: 'badge picture' }))
      .toEqual({ id: 'Staff Number', image: 'Badge Picture' });
  });

  test('an explicit name that is not a header is a usage error naming it and the headers found', () => {
    expect(() => pickColumns(['id', 'photo'], { idColumn: 'mail' })).toThrow(UsageError);
    expect(() => pickColumns(['id', 'photo'], { idColumn: 'mail' }))
      .toThrow('--id-column "mail": the CSV has no such column; the headers found are "id", "photo"');
    expect(() => pickColumns(['id', 'photo'], { imageColumn: 'img' })).toThrow(/--image-column "img"/);
  });

  test('no usable column is a usage error naming the headers found and the option to use', () => {
    expect(() => pickColumns(['Name', 'Mail', 'Headshot'], {})).toThrow(UsageError);
    expect(() => pickColumns(['Name', 'Mail', 'Headshot'], {}))
      .toThrow(/no id column found: .*the headers found are "Name", "Mail", "Headshot"; choose one with --id-column/);
    expect(() => pickColumns(['id', 'Headshot'], {})).toThrow(/no image column found: .*"Headshot"; choose one with --image-column/);
  });

  test('two spellings of one usual header are ambiguous rather than a silent pick', () => {
    expect(() => pickColumns(['User ID', 'user_id', 'photo'], {})).toThrow(/more than one column could be the id column \("User ID", "user_id"\)/);
    expect(() => pickColumns(['User ID', 'user_id', 'photo'], { idColumn: 'user id' })).toThrow(/ambiguous/);
    expect(pickColumns(['User ID', 'user_id', 'photo'], { idColumn: 'user_id' })).toEqual({ id: 'user_id', image: 'photo' });
  });

  test('an explicit id column is not also detected as the image column', () => {
    expect(pickColumns(['photo', 'file'], { idColumn: 'photo' })).toEqual({ id: 'photo', image: 'file' });
    expect(() => pickColumns(['id', 'photo'], { idColumn: 'photo', imageColumn: 'photo' })).toThrow(/both "photo"/);
  });
});

describe('a header line that is really data', () => {
  test('is quoted in the message in part: a huge field or thousands of columns stay a short message', () => {
    const huge = 'x'.repeat(3_000_000);
    const many = Array.from({ length: 5_000 }, (_, i) => `c${i}`);
    for (const headers of [[huge, 'name', 'photo'], many]) {
      let message = '';
      try {
        pickColumns(headers, {});
      } catch (error) {
        expect(error).toBeInstanceOf(UsageError);
        message = (error as Error).message;
      }
      expect(message).toMatch(/no id column found/);
      expect(message.length).toBeLessThan(8_000);
    }
  });
});
