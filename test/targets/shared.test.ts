import { UsageError } from '../../src/errors.js';
import { baseUrlFlag, numberFlag, pacingFlags } from '../../src/targets/flags.js';
import { UploadOnce } from '../../src/targets/upload-once.js';

describe('UploadOnce', () => {
  test('rows with the same bytes share one upload, even while it is in flight', async () => {
    const once = new UploadOnce();
    let uploads = 0;
    const upload = () => Promise.resolve(`ref-${++uploads}`);
    expect(await Promise.all([once.get('aa', upload), once.get('aa', upload), once.get('bb', upload)])).toEqual(['ref-1', 'ref-1', 'ref-2']);
    expect(uploads).toBe(2);
  });

  test('a failed upload is forgotten, so the next row tries again', async () => {
    const once = new UploadOnce();
    await expect(once.get('aa', () => Promise.reject(new Error('500')))).rejects.toThrow('500');
    expect(await once.get('aa', () => Promise.resolve('ref'))).toBe('ref');
  });

  test('holds a bounded number of avatars', async () => {
    const once = new UploadOnce(2);
    let uploads = 0;
    const upload = () => Promise.resolve(`ref-${++uploads}`);
    for (const key of ['a', 'b', 'c', 'a']) await once.get(key, upload);
    expect(uploads).toBe(4); // 'a' was pushed out by 'c'
  });
});

describe('target flags', () => {
  test('a base URL loses its trailing slash and refuses credentials, queries and other schemes', () => {
    const option = { name: 'homeserver', required: 'with --target matrix', example: 'https://matrix.example.org' };
    expect(baseUrlFlag('https://matrix.example.org/', option)).toBe('https://matrix.example.org');
    expect(baseUrlFlag('https://example.org/chat/', option)).toBe('https://example.org/chat');
    for (const bad of [undefined, '', 'matrix', 'ftp://x.org', 'https://u:p@x.org', 'https://x.org/?token=1']) {
      expect(() => baseUrlFlag(bad, option)).toThrow(UsageError);
    }
    expect(() => baseUrlFlag(undefined, option)).toThrow(/--homeserver is required with --target matrix, e\.g\. https:\/\/matrix\.example\.org/);
  });

  test('numbers are checked against their rule and named in the message', () => {
    expect(numberFlag({ retries: 3 }, 'retries', { min: 0 })).toBe(3);
    expect(numberFlag({}, 'retries', { min: 0 })).toBeUndefined();
    expect(() => numberFlag({ retries: 1.5 }, 'retries', { min: 0 })).toThrow(/--retries 1\.5: expected an integer >= 0/);
    expect(numberFlag({ maxRate: 2.5 }, 'max-rate', { min: 0, integer: false })).toBe(2.5);
  });

  test('pacing flags fall back to the target defaults', () => {
    expect(pacingFlags({}, { concurrency: 2, retries: 5 })).toEqual({ concurrency: 2, retries: 5 });
    expect(pacingFlags({ concurrency: 8, 'max-rate': 40 }, { concurrency: 2, retries: 5 })).toEqual({ concurrency: 8, retries: 5, maxRate: 40 });
  });

  test('--request-timeout is seconds, bounded, and named when wrong', () => {
    expect(pacingFlags({ 'request-timeout': 2.5 }, { concurrency: 2, retries: 5 })).toEqual({ concurrency: 2, retries: 5, requestTimeoutMs: 2500 });
    for (const bad of [0, -1, 'soon', 7200]) {
      expect(() => pacingFlags({ 'request-timeout': bad }, { concurrency: 2, retries: 5 })).toThrow(`--request-timeout expects seconds from 1 to 3600, got "${bad}"`);
    }
  });
});
