import { AvatarError, FatalError, RowError, ROW_CODES, heals, isAvatarError } from '../../src/errors.js';

describe('error taxonomy', () => {
  test('a RowError is a row-kind AvatarError carrying its stable code', () => {
    const error = new RowError('file_not_found', 'photos/ana.jpg does not exist');
    expect(isAvatarError(error)).toBe(true);
    expect(error.kind).toBe('row');
    expect(error.code).toBe('file_not_found');
  });

  test('a FatalError stops the run', () => {
    expect(new FatalError('bad_token', 'token refused').kind).toBe('fatal');
  });

  test('codes that can heal by themselves are retried, the others are not', () => {
    expect(heals('file_not_found')).toBe(true);
    expect(heals('user_not_found')).toBe(true);
    expect(heals('unsupported_image')).toBe(false);
    expect(heals('duplicate_user')).toBe(false);
  });

  test('every code is snake_case', () => {
    for (const code of Object.keys(ROW_CODES)) expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
  });

  test('retry-after errors carry the pause', () => {
    const error = new AvatarError('retry-after', 'rate_limited', 'slow down', { retryAfterMs: 1500 });
    expect(error.retryAfterMs).toBe(1500);
  });
});
