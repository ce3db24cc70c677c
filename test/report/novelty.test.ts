import { EXIT, exitCode } from '../../src/exit-codes.js';
import { isCarriedOver } from '../../src/report/novelty.js';

const failed = (code: string, extra: Record<string, unknown> = {}) => ({
  status: 'failed', source: '/hr/photos/sam.jpg', settings: 's1', sourceSize: 100, sourceMtimeMs: 1000.5, error: { code }, ...extra,
});

describe('a failure is carried over only when it repeats exactly', () => {
  test.each([
    ['no earlier line', undefined, failed('image_too_small'), false],
    ['the same code, source, settings and fingerprint', failed('image_too_small'), failed('image_too_small'), true],
    ['a missing file still missing', failed('file_not_found', { sourceSize: undefined, sourceMtimeMs: undefined }), failed('file_not_found', { sourceSize: undefined, sourceMtimeMs: undefined }), true],
    ['a different code', failed('image_too_small'), failed('unsupported_image'), false],
    ['a different source', failed('image_too_small'), failed('image_too_small', { source: '/hr/photos/sam2.jpg' }), false],
    ['the photo was replaced (size)', failed('image_too_small'), failed('image_too_small', { sourceSize: 101 }), false],
    ['the photo was touched (mtime)', failed('image_too_small'), failed('image_too_small', { sourceMtimeMs: 2000 }), false],
    ['touched, same content: carried over by the pipeline', failed('image_too_small'), failed('image_too_small', { sourceMtimeMs: 2000, reason: 'unchanged_since_failure' }), true],
    ['mtime within the 1 ms window', failed('image_too_small'), failed('image_too_small', { sourceMtimeMs: 1000.9 }), true],
    ['the file appeared', failed('file_not_found', { sourceSize: undefined, sourceMtimeMs: undefined }), failed('image_too_small'), false],
    ['other settings', failed('image_too_small'), failed('image_too_small', { settings: 's2' }), false],
    ['other content', failed('image_too_small', { sourceSha256: 'a' }), failed('image_too_small', { sourceSha256: 'b' }), false],
    ['it was ok last time', { status: 'ok', source: '/hr/photos/sam.jpg', settings: 's1' }, failed('user_not_found'), false],
  ])('%s', (_name, previous, now, carried) => {
    expect(isCarriedOver(previous, now)).toBe(carried);
  });
});

describe('the exit code is the worst across targets', () => {
  const clean = { fatal: false, newFailures: 0, carriedFailures: 0 };
  test.each([
    ['all rows ok or skipped', [clean], EXIT.ok],
    ['only failures seen before', [{ ...clean, carriedFailures: 3 }], EXIT.onlyKnownFailures],
    ['a new failure besides old ones', [{ ...clean, carriedFailures: 3, newFailures: 1 }], EXIT.newFailures],
    ['a new failure on one target only', [clean, { ...clean, newFailures: 1 }], EXIT.newFailures],
    ['a fatal target beats failures', [{ ...clean, newFailures: 1 }, { ...clean, fatal: true }], EXIT.fatal],
    ['Ctrl-C beats everything', [{ ...clean, fatal: true, signal: 'SIGINT' as const }], EXIT.interrupted],
    ['SIGTERM has its own code', [{ ...clean, signal: 'SIGTERM' as const }], EXIT.terminated],
  ])('%s', (_name, outcomes, code) => {
    expect(exitCode(outcomes)).toBe(code);
  });

  test('the codes cron relies on', () => {
    expect(EXIT).toEqual({ ok: 0, newFailures: 1, usage: 2, fatal: 3, onlyKnownFailures: 4, interrupted: 130, terminated: 143 });
  });
});
