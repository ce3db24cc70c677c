import { UsageError } from '../../src/errors.js';
import { chooseColumns, pickColumns } from '../../src/input/columns.js';

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
    expect(() => pickColumns(['id', 'photo'], { idColumn: 'mailbox' })).toThrow(UsageError);
    expect(() => pickColumns(['id', 'photo'], { idColumn: 'mailbox' }))
      .toThrow('columns missing: --id-column names no column "mailbox". The headers found are "id", "photo" (names match in any case, ignoring spaces, "_", "-" and ".")');
    expect(() => pickColumns(['id', 'photo'], { imageColumn: 'img' })).toThrow(/--image-column names no column "img"/);
  });

  test('no usable column is a usage error naming the headers found and the options to use', () => {
    expect(() => pickColumns(['Name', 'Phone', 'Headshot'], {})).toThrow(UsageError);
    expect(() => pickColumns(['Name', 'Phone', 'Headshot'], {}))
      .toThrow(/no id column \(looked for user_id, .*; or give --id-column or --user-template\).*The headers found are "Name", "Phone", "Headshot"/);
    expect(() => pickColumns(['id', 'Headshot'], {})).toThrow(/no image column \(looked for image, .*; or give --image-column or --image-template\)/);
  });

  test('everything missing is named in one error, template placeholders included', () => {
    const headers = ['Name', 'Department'];
    expect(() => chooseColumns(headers, { userTemplate: '{Work Email|lower}', imageColumn: 'Photo' }))
      .toThrow('columns missing: --user-template {Work Email} names no column "Work Email"; --image-column names no column "Photo". The headers found are "Name", "Department" (names match in any case, ignoring spaces, "_", "-" and ".")');
  });

  test.each([
    [['Employee ID', 'Full Name', 'Photo File Name'], 'Employee ID', 'Photo File Name'],
    [['Work E-mail', 'Photo URL'], 'Work E-mail', 'Photo URL'],
    [['E-Mail', 'Foto'], 'E-Mail', 'Foto'],
    [['UPN', 'Bild'], 'UPN', 'Bild'],
    [['Worker ID', 'picture.url'], 'Worker ID', 'picture.url'],
    [['Email Address', 'PhotoURL'], 'Email Address', 'PhotoURL'],
  ])('headers real exports use are found after dropping case, spaces, "_", "-" and ".": %j', (headers, id, image) => {
    expect(pickColumns(headers, {})).toEqual({ id, image });
  });

  test('a target that matches users by e-mail takes the e-mail column over a bare id; others take the id', () => {
    const headers = ['id', 'Work Email', 'Photo'];
    expect(chooseColumns(headers, { preferEmail: true })).toMatchObject({ id: 'Work Email', image: 'Photo' });
    expect(chooseColumns(headers, {})).toMatchObject({ id: 'id', image: 'Photo' });
    expect(chooseColumns(headers, { preferEmail: true, idColumn: 'id' })).toMatchObject({ id: 'id' });
    expect(chooseColumns(headers, { preferEmail: true }).description).toBe('columns: id "Work Email" (the target matches users by e-mail), image "Photo"');
  });

  test('--user-template alone is enough: no id column is needed, and its columns are the ones in use', () => {
    const chosen = chooseColumns(['First', 'Last', 'Picture'], { userTemplate: '{first|lower}.{last|lower}' });
    expect(chosen).toEqual({
      image: 'Picture',
      used: ['Picture', 'First', 'Last'],
      description: 'columns: user from --user-template "{first|lower}.{last|lower}", image "Picture"',
    });
  });

  test('--image-template builds the image path, so no image column is needed', () => {
    const chosen = chooseColumns(['Employee ID', 'Department'], { imageTemplate: 'photos/{Employee ID}.jpg' });
    expect(chosen).toMatchObject({ id: 'Employee ID', used: ['Employee ID'] });
    expect(chosen.image).toBeUndefined();
  });

  test('two spellings of one usual header are ambiguous rather than a silent pick', () => {
    expect(() => pickColumns(['User ID', 'user_id', 'photo'], {})).toThrow(/more than one column could be the id column \("User ID", "user_id"\); choose one with --id-column/);
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
      expect(message).toMatch(/columns missing: no id column/);
      expect(message.length).toBeLessThan(8_000);
    }
  });
});
