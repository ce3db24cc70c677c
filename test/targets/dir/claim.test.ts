import { RowError } from '../../../src/errors.js';
import { DirTarget } from '../../../src/targets/dir/dir.js';

describe('two users, one file name', () => {
  test('the later row fails with duplicate_file_name naming both users; the earlier keeps its file', () => {
    const target = new DirTarget({ out: '/tmp/avatars', checksum: false });
    target.claim('Jane.Doe@Example.org', 3);
    target.claim('ana@example.org', 4);
    let error: unknown;
    try {
      target.claim('jane.doe@example.org', 9);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RowError);
    expect(error).toMatchObject({ code: 'duplicate_file_name' });
    expect((error as Error).message).toBe(
      '"jane.doe@example.org" would be written to jane.doe@example.org.jpg, the file of "Jane.Doe@Example.org" (row 3); ' +
        'file names ignore case, so that row keeps the file and this one is not written (--file-name can name files differently)',
    );
    expect(target.pathFor('Jane.Doe@Example.org')).toBe('/tmp/avatars/jane.doe@example.org.jpg');
  });

  test('a --file-name template that folds users together is caught the same way', () => {
    const target = new DirTarget({ out: '/tmp/avatars', checksum: false, fileName: '{user|localpart}' });
    target.claim('jane@a.example', 1);
    expect(() => target.claim('JANE@b.example', 2)).toThrow(/"JANE@b.example" would be written to JANE.jpg, the file of "jane@a.example" \(row 1\)/);
  });
});
