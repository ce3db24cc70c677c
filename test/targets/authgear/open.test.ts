// Before the first row: the target proves the endpoint is Authgear's Admin API and that the key,
// key id and project are accepted, or stops the run with a FatalError that says what to check.
// And `--target authgear` as the CLI builds it: every flag validated before anything is sent.
import { writeFile } from 'node:fs/promises';
import { generateKeyPairSync } from 'node:crypto';
import { FatalError, UsageError } from '../../../src/errors.js';
import { createLogger } from '../../../src/log.js';
import { authgearTarget } from '../../../src/targets/authgear/index.js';
import { AuthgearTarget, MAX_UPLOAD_BYTES } from '../../../src/targets/authgear/target.js';
import { createTarget } from '../../support/targets.js';
import { FakeAuthgear } from '../../../testkit/servers/authgear.js';
import { keyFile, setup } from './helpers.js';

describe('authgear target: open()', () => {
  test('one authorised probe, and avatars are capped to 10 MiB', async () => {
    const s = await setup();
    try {
      const limits = await s.open();
      expect(s.authgear.server.counts()).toEqual({ graphql: 1 });
      expect(s.authgear.count('__typename')).toBe(1);
      expect(limits.maxBytes).toBe(MAX_UPLOAD_BYTES);
      expect(MAX_UPLOAD_BYTES).toBe(10_485_760);
    } finally {
      await s.authgear.close();
    }
  });

  test.each([
    ['a key the project does not know', (a: FakeAuthgear) => ({ pem: FakeAuthgear.generateKey().privateKeyPem, keyId: a.keyId })],
    ['the right key under another key id', (a: FakeAuthgear) => ({ pem: a.privateKeyPem, keyId: '0123abcd' })],
  ])('%s: 403 Forbidden twice (a new token does not help) ends the run with what to check', async (_name, key) => {
    const s = await setup({}, { key });
    try {
      const error = await s.open().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FatalError);
      expect(error).toMatchObject({ code: 'admin_key_refused' });
      const message = (error as Error).message;
      expect(message).toContain('HTTP 403 Forbidden');
      expect(message).toMatch(/key ID: --key-id \S+/);
      expect(message).toContain('--project-id myapp');
      expect(message).toMatch(/clock/);
      expect(s.authgear.server.count('graphql', 403)).toBe(2);
      expect(s.target.token.minted).toBe(2);
      expect(s.authgear.images.size).toBe(0);
      for (const token of s.authgear.server.requests.map((r) => String(r.headers.authorization).slice(7))) expect(message).not.toContain(token);
    } finally {
      await s.authgear.close();
    }
  });

  test('another project id is refused the same way', async () => {
    const s = await setup({}, { argv: { 'project-id': 'otherapp' } });
    try {
      await expect(s.open()).rejects.toMatchObject({ kind: 'fatal', code: 'admin_key_refused', message: expect.stringContaining('--project-id otherapp') });
    } finally {
      await s.authgear.close();
    }
  });

  test('a URL that is not the Admin API is fatal, not a row error', async () => {
    const s = await setup();
    try {
      const config = { ...(s.target as unknown as { config: object }).config, endpoint: `${s.authgear.url}/not-authgear` };
      const target = new AuthgearTarget(config as never, { log: s.log });
      await expect(target.open(new AbortController().signal)).rejects.toMatchObject({ kind: 'fatal', code: 'unsupported_server' });
    } finally {
      await s.authgear.close();
    }
  });

  test('a server that keeps failing during start-up is fatal once retries run out', async () => {
    const s = await setup({}, { argv: { retries: 2 } });
    try {
      s.authgear.setFaults({ errorEvery: 1 });
      await expect(s.open()).rejects.toMatchObject({ kind: 'fatal', code: 'target_unavailable' });
      expect(s.authgear.server.count('graphql')).toBe(3);
    } finally {
      await s.authgear.close();
    }
  });
});

describe('authgearTarget factory', () => {
  const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const context = (flags: Record<string, unknown>) => createTarget(authgearTarget, flags, { log: createLogger({ write: () => undefined }) });

  test('builds a target named after its endpoint; the key id defaults to the file name; low default concurrency', async () => {
    const file = await keyFile(pem, '0123abcd');
    const target = await (context({ endpoint: 'https://myapp.authgear.cloud/', 'project-id': 'myapp', 'admin-key-file': file }));
    expect(target).toMatchObject({ name: 'authgear', id: 'authgear:https://myapp.authgear.cloud', features: { guardsUserChanges: true } });
    expect((target as unknown as { config: { keyId: string; matchBy: string; concurrency: number } }).config).toMatchObject({ keyId: '0123abcd', matchBy: 'email', concurrency: 2 });
    expect(authgearTarget.defaultConcurrency).toBe(2);
    const explicit = await (context({ endpoint: 'https://a.example', 'project-id': 'a', 'admin-key-file': file, 'key-id': 'k-1', 'match-by': 'phone_number' }));
    expect((explicit as unknown as { config: object }).config).toMatchObject({ keyId: 'k-1', matchBy: 'phone_number' });
  });

  test('offers exactly its own flags', () => {
    expect(Object.keys(authgearTarget.options)).toEqual(['endpoint', 'project-id', 'admin-key-file', 'key-id', 'match-by', 'lookup-batch-size']);
  });

  test.each([
    [{}, /--endpoint is required/],
    [{ endpoint: 'myapp.authgear.cloud' }, /--endpoint expects an http\(s\) URL such as https:\/\/example\.org, got "myapp\.authgear\.cloud"/],
    [{ endpoint: 'https://a.example?x=1' }, /without credentials, query or fragment/],
    [{ endpoint: 'https://a.example' }, /--project-id is required/],
    [{ endpoint: 'https://a.example', 'project-id': 'my app' }, /--project-id expects a project ID such as myapp \(letters, digits, - and _\), got "my app"/],
    [{ endpoint: 'https://a.example', 'project-id': 'a' }, /--admin-key-file is required/],
    [{ endpoint: 'https://a.example', 'project-id': 'a', 'admin-key-file': '/nonexistent/k.pem' }, /--admin-key-file \/nonexistent\/k\.pem: cannot be read \(ENOENT\)/],
    [{ endpoint: 'https://a.example', 'project-id': 'a', 'admin-key-file': 'PKCS1' }, /a PKCS#1 key.*openssl pkcs8 -topk8/],
    [{ endpoint: 'https://a.example', 'project-id': 'a', 'admin-key-file': 'JUNK' }, /no "-----BEGIN PRIVATE KEY-----" block/],
    [{ endpoint: 'https://a.example', 'project-id': 'a', 'admin-key-file': 'EC' }, /not an RSA private key usable for RS256/],
    [{ endpoint: 'https://a.example', 'project-id': 'a', 'admin-key-file': 'GOOD', 'match-by': 'name' }, /--match-by expects one of email, phone_number, preferred_username, got "name"/],
    [{ endpoint: 'https://a.example', 'project-id': 'a', 'admin-key-file': 'GOOD', retries: -1 }, /--retries expects a whole number from 0 to 100, got -1/],
    [{ endpoint: 'https://a.example', 'project-id': 'a', 'admin-key-file': 'GOOD', 'lookup-batch-size': 0 }, /--lookup-batch-size expects a whole number from 1 to 500, got 0/],
    [{ endpoint: 'https://a.example', 'project-id': 'a', 'admin-key-file': 'GOOD', 'lookup-batch-size': 'many' }, /--lookup-batch-size expects a whole number from 1 to 500, got "many"/],
    [{ endpoint: 'https://a.example', 'project-id': 'a', 'admin-key-file': 'GOOD', 'lookup-batch-size': 501 }, /--lookup-batch-size expects a whole number from 1 to 500, got 501/],
  ])('%j is a usage error naming the flag', async (argv, message) => {
    const files: Record<string, () => Promise<string>> = {
      GOOD: () => keyFile(pem, 'k'),
      PKCS1: () => keyFile(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(), 'k'),
      EC: () => keyFile(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'k'),
      JUNK: async () => {
        const file = await keyFile('', 'k');
        await writeFile(file, 'not a key');
        return file;
      },
    };
    const file = argv['admin-key-file' as keyof typeof argv] as string | undefined;
    const resolved = file && files[file] ? { ...argv, 'admin-key-file': await files[file]!() } : argv;
    const error = await (context(resolved)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(message);
  });
});
