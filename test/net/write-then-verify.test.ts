import { AvatarError, RowError } from '../../src/errors.js';
import { writeThenVerify } from '../../src/net/write-then-verify.js';

// A write whose answer was lost is read back before it is sent again; nothing else is caught.

const lost = () => new AvatarError('unknown', 'write_unknown', 'PUT timed out after sending');

function remote(initial: string) {
  const calls: string[] = [];
  let value = initial;
  return {
    calls,
    get value() {
      return value;
    },
    steps(outcomes: ('ok' | 'lost after landing' | 'lost before landing')[], target: string) {
      return {
        write: async (idempotent: boolean, seen?: string) => {
          calls.push(`write idempotent=${idempotent}${seen === undefined ? '' : ` seen=${seen}`}`);
          const outcome = outcomes.shift() ?? 'ok';
          if (outcome !== 'lost before landing') value = target;
          if (outcome !== 'ok') throw lost();
          return value;
        },
        readBack: async () => {
          calls.push('read back');
          return value;
        },
        landed: (seen: string) => seen === target,
      };
    },
  };
}

describe('writeThenVerify', () => {
  test('a write that answers is sent once, as not idempotent, and nothing is read back', async () => {
    const r = remote('old');
    await expect(writeThenVerify(r.steps(['ok'], 'new'))).resolves.toBe('new');
    expect(r.calls).toEqual(['write idempotent=false']);
  });

  test('a lost answer of a write that landed is read back and not sent again', async () => {
    const r = remote('old');
    await expect(writeThenVerify(r.steps(['lost after landing'], 'new'))).resolves.toBe('new');
    expect(r.calls).toEqual(['write idempotent=false', 'read back']);
  });

  test('a lost write that did not land is sent again, idempotent, built on what was read', async () => {
    const r = remote('old');
    await expect(writeThenVerify(r.steps(['lost before landing', 'ok'], 'new'))).resolves.toBe('new');
    expect(r.calls).toEqual(['write idempotent=false', 'read back', 'write idempotent=true seen=old']);
  });

  test('other failures are the caller\'s: no read-back, no re-send', async () => {
    const calls: string[] = [];
    const refused = new RowError('upload_rejected', 'too large');
    await expect(
      writeThenVerify({
        write: async () => {
          calls.push('write');
          throw refused;
        },
        readBack: async () => void calls.push('read back'),
        landed: () => true,
      }),
    ).rejects.toBe(refused);
    expect(calls).toEqual(['write']);
  });

  test('a read-back that fails fails the write with its own error', async () => {
    const gone = new RowError('user_not_found', 'deleted during the update');
    await expect(
      writeThenVerify({
        write: async () => {
          throw lost();
        },
        readBack: async () => {
          throw gone;
        },
        landed: () => true,
      }),
    ).rejects.toBe(gone);
  });
});
