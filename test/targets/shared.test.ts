import { UsageError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { authgearTarget } from '../../src/targets/authgear/index.js';
import { baseUrl, required } from '../../src/targets/checks.js';
import { matrixTarget } from '../../src/targets/matrix/index.js';
import { inputFor } from '../support/targets.js';
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

describe('options shared by targets', () => {
  const where = { flag: 'homeserver' };
  test('a base URL loses its trailing slash and refuses credentials, queries and other schemes', () => {
    expect(baseUrl('https://matrix.example.org/', where)).toBe('https://matrix.example.org');
    expect(baseUrl('https://example.org/chat/', where)).toBe('https://example.org/chat');
    for (const bad of ['', 'matrix', 'ftp://x.org', 'https://u:p@x.org', 'https://x.org/?token=1']) {
      expect(() => baseUrl(bad, where)).toThrow(UsageError);
    }
    expect(() => baseUrl('matrix', where)).toThrow(/--homeserver expects an http\(s\) URL such as https:\/\/example\.org, got "matrix"/);
    expect(() => required('homeserver', 'matrix', 'the URL of the client API, e.g. https://matrix.example.org')).toThrow(/--homeserver is required with --target matrix: the URL of the client API, e\.g\. https:\/\/matrix\.example\.org/);
  });

  test('pacing options are checked against their rule, named in the message, and fall back to the target defaults', () => {
    const log = createLogger({ write: () => undefined });
    expect(inputFor(matrixTarget, {}, { log }).context.pacing).toEqual({ concurrency: 4, retries: 5 });
    expect(inputFor(authgearTarget, { concurrency: '8', 'max-rate': '40' }, { log }).context.pacing).toEqual({ concurrency: 8, retries: 5, maxRate: 40 });
    expect(inputFor(authgearTarget, { retries: 3, 'max-rate': 2.5 }, { log }).context.pacing).toEqual({ concurrency: 2, retries: 3, maxRate: 2.5 });
    expect(() => inputFor(matrixTarget, { retries: '1.5' }, { log })).toThrow(/--retries expects a whole number from 0 to 100, got "1\.5"/);
  });

  test('--request-timeout is seconds, bounded, and named when wrong', () => {
    const log = createLogger({ write: () => undefined });
    expect(inputFor(authgearTarget, { 'request-timeout': '2.5' }, { log }).context.pacing).toEqual({ concurrency: 2, retries: 5, requestTimeoutMs: 2500 });
    for (const bad of ['0', '-1', 'soon', '7200']) {
      expect(() => inputFor(authgearTarget, { 'request-timeout': bad }, { log })).toThrow(`--request-timeout expects seconds from 1 to 3600, got "${bad}"`);
    }
  });
});
