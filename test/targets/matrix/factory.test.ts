// `--target matrix` as the CLI builds it: flags validated before anything is sent, the token from
// the environment or a file (never argv), and registered as a secret at once.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../../src/errors.js';
import { createLogger } from '../../../src/log.js';
import { matrixTarget } from '../../../src/targets/matrix/index.js';
import { createTarget } from '../../support/targets.js';

function context(flags: Record<string, unknown>, env: Record<string, string> = {}) {
  return { flags, env, log: createLogger({ write: () => undefined }) };
}
const create = (ctx: ReturnType<typeof context>) => createTarget(matrixTarget, ctx.flags, ctx);

describe('matrixTarget factory', () => {
  test('builds a target named after its homeserver, token from MATRIX_ACCESS_TOKEN, and registers it as a secret', async () => {
    const ctx = context({ homeserver: 'https://matrix.example.org/' }, { MATRIX_ACCESS_TOKEN: 'syt_env_token_abc' });
    const target = await create(ctx);
    expect(target).toMatchObject({ name: 'matrix', id: 'matrix:https://matrix.example.org', features: { guardsUserChanges: true } });
    expect(ctx.log.redact('Bearer syt_env_token_abc')).toBe('Bearer ***');
  });

  test('--token-file wins over the environment and is trimmed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'matrix-token-'));
    const file = join(dir, 'token');
    await writeFile(file, 'syt_file_token_xyz\n');
    const ctx = context({ homeserver: 'https://hs', 'token-file': file }, { MATRIX_ACCESS_TOKEN: 'syt_env_token_abc' });
    await create(ctx);
    expect(ctx.log.redact('syt_file_token_xyz')).toBe('***');
  });

  test.each([
    [{}, { MATRIX_ACCESS_TOKEN: 't0k3n' }, /--homeserver is required/],
    [{ homeserver: 'matrix.example.org' }, { MATRIX_ACCESS_TOKEN: 't0k3n' }, /--homeserver expects an http\(s\) URL such as https:\/\/example\.org, got "matrix\.example\.org"/],
    [{ homeserver: 'ftp://hs' }, { MATRIX_ACCESS_TOKEN: 't0k3n' }, /--homeserver expects an http\(s\) URL, got "ftp:\/\/hs"/],
    [{ homeserver: 'https://hs?access_token=x' }, { MATRIX_ACCESS_TOKEN: 't0k3n' }, /without credentials, query or fragment/],
    [{ homeserver: 'https://hs' }, {}, /no access token: set MATRIX_ACCESS_TOKEN or pass --token-file/],
    [{ homeserver: 'https://hs', 'token-file': '/nonexistent/token' }, {}, /--token-file \/nonexistent\/token: cannot be read \(ENOENT\)/],
    [{ homeserver: 'https://hs', retries: -1 }, { MATRIX_ACCESS_TOKEN: 't0k3n' }, /--retries expects a whole number from 0 to 100, got -1/],
    [{ homeserver: 'https://hs', 'max-rate': 'fast' }, { MATRIX_ACCESS_TOKEN: 't0k3n' }, /--max-rate expects requests per second above 0, got "fast"/],
  ])('%j %j is a usage error naming the flag', async (argv, env, message) => {
    const error = await create(context(argv, env)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(message);
  });

  test('offers only its own flags; the token is not one of them', () => {
    expect(Object.keys(matrixTarget.options)).toEqual(['homeserver', 'token-file']);
  });
});
