import fc from 'fast-check';

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

  // As the run calls it: after its duplicate check, with that check's record of the users met.
  function asTheRunDoes(target: DirTarget): (user: string, row: number) => string | undefined {
    const met = new Map<string, number>();
    return (user, row) => {
      if (met.has(user)) return 'duplicate_user';
      met.set(user, row);
      try {
        target.claim(user, row, (u) => met.get(u));
        return undefined;
      } catch (error) {
        return (error as Error).message;
      }
    };
  }

  test('a user whose file name is their own id is not kept, and still holds the name against a later user', () => {
    const target = new DirTarget({ out: '/tmp/avatars', checksum: false });
    const claim = asTheRunDoes(target);
    expect(claim('ivan.petrov@corp.example', 3)).toBeUndefined();
    expect(claim('Ivan.Petrov@corp.example', 4)).toBe(
      '"Ivan.Petrov@corp.example" would be written to ivan.petrov@corp.example.jpg, the file of "ivan.petrov@corp.example" (row 3); ' +
        'file names ignore case, so that row keeps the file and this one is not written (--file-name can name files differently)',
    );
  });

  test('a user called like another\'s encoded file name does not hold that file', () => {
    const target = new DirTarget({ out: '/tmp/avatars', checksum: false });
    const claim = asTheRunDoes(target);
    expect(claim('a%2fb', 1)).toBeUndefined(); // a%252fb.jpg
    expect(claim('a/b', 2)).toBeUndefined(); // a%2Fb.jpg
    expect(target.pathFor('a/b')).toBe('/tmp/avatars/a%2Fb.jpg');
  });

  test('property: the same rows refused, with the same messages, as when every name is kept', () => {
    const user = fc.constantFrom('ana', 'Ana', 'ANA', 'a/b', 'a%2fb', 'A%2Fb', 'zoë', 'Zoë', 'zoe\u0308', 'con', 'CON', 'x.y@e.example', 'X.Y@e.example', '');
    const template = fc.constantFrom(undefined, '{user}', '{user|localpart}');
    fc.assert(
      fc.property(fc.array(user, { maxLength: 12 }), template, (users, fileName) => {
        const options = { out: '/tmp/avatars', checksum: false, ...(fileName === undefined ? {} : { fileName }) };
        const kept = new DirTarget(options);
        const asked = asTheRunDoes(new DirTarget(options));
        const met = new Set<string>();
        users.forEach((u, i) => {
          const row = i + 1;
          let expected: string | undefined;
          if (met.has(u)) expected = 'duplicate_user';
          else {
            met.add(u);
            try {
              kept.claim(u, row);
            } catch (error) {
              expected = (error as Error).message;
            }
          }
          expect(asked(u, row)).toBe(expected);
        });
      }),
      { numRuns: 500 },
    );
  });
});
