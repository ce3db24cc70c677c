// `--target zulip` as the CLI builds it: flags validated before anything is sent, keys and
// secrets from files or the environment (never argv), each registered as a secret at once.
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../../src/errors.js';
import { createLogger } from '../../../src/log.js';
import { zulipTarget } from '../../../src/targets/zulip/index.js';
import { readConfig, type KeyMode } from '../../../src/targets/zulip/options.js';
import { createTarget, inputFor } from '../../support/targets.js';

const ADMIN_KEY = 'AdminKeyAdminKeyAdminKeyAdminKey';
const ANA_KEY = 'AnaKeyAnaKeyAnaKeyAnaKeyAnaKey12';
const BO_KEY = 'BoKeyBoKeyBoKeyBoKeyBoKeyBoKey12';

function context(flags: Record<string, unknown>, env: Record<string, string> = {}) {
  const lines: string[] = [];
  const ctx = { flags, env, log: createLogger({ write: (l) => lines.push(l) }) };
  return { ctx, lines };
}
type Ctx = ReturnType<typeof context>['ctx'];
const create = (ctx: Ctx) => createTarget(zulipTarget, ctx.flags, ctx);
const read = async (ctx: Ctx) => {
  const { options, context: targetContext } = inputFor(zulipTarget, ctx.flags, ctx);
  return readConfig(options, targetContext);
};

const adminEnv = { ZULIP_EMAIL: 'admin@corp.example', ZULIP_API_KEY: ADMIN_KEY };
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zulip-opts-'));
});

async function file(name: string, text: string, mode = 0o600): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text, { mode });
  await chmod(path, mode);
  return path;
}

const keysOf = (mode: KeyMode) => (mode.kind === 'credentials' ? Object.fromEntries([...mode.keys].map(([k, v]) => [k, v.key])) : undefined);

describe('zulipTarget factory', () => {
  test('a target named after its site; admin key from the environment; secrets registered', async () => {
    const creds = await file('keys.csv', `email,api_key\nAna@Corp.Example,${ANA_KEY}\n`);
    const { ctx } = context({ site: 'https://chat.example.com/', credentials: creds }, adminEnv);
    const target = await create(ctx);
    expect(target).toMatchObject({ name: 'zulip', id: 'zulip:https://chat.example.com', features: { guardsUserChanges: true } });
    expect(ctx.log.redact(`x ${ADMIN_KEY} ${ANA_KEY}`)).toBe('x *** ***');
    const basic = Buffer.from(`admin@corp.example:${ADMIN_KEY}`).toString('base64');
    expect(ctx.log.redact(basic)).toBe('***');
  });

  test('--admin-zuliprc gives email, key and site (no scheme, trailing /api tolerated); extras are warned about', async () => {
    const rc = await file('admin.zuliprc', `# downloaded\n[api]\nemail = admin@corp.example\nkey=${ADMIN_KEY}\nsite: chat.example.com/api\ninsecure=true\n`);
    const creds = await file('keys.csv', `ana@corp.example,${ANA_KEY}\n`);
    const { ctx, lines } = context({ 'admin-zuliprc': rc, credentials: creds });
    const config = await read(ctx);
    expect(config.site).toBe('https://chat.example.com');
    expect(config.admin).toEqual({ email: 'admin@corp.example', key: ADMIN_KEY });
    expect(keysOf(config.mode)).toEqual({ 'ana@corp.example': ANA_KEY });
    expect(lines.join('\n')).toMatch(/insecure ignored/);
  });

  test('--credentials as a folder of zuliprc files: other sites and non-zuliprc files are skipped with a warning', async () => {
    const folder = join(dir, 'rcs');
    await mkdir(folder, { mode: 0o700 });
    await writeFile(join(folder, 'ana.zuliprc'), `[api]\nemail=ana@corp.example\nkey=${ANA_KEY}\nsite=https://chat.example.com\n`);
    await writeFile(join(folder, 'bo'), `[api]\nemail=bo@corp.example\nkey=${BO_KEY}\n`);
    await writeFile(join(folder, 'other.zuliprc'), `[api]\nemail=cy@corp.example\nkey=CyKeyCyKeyCyKeyCyKeyCyKeyCyKey12\nsite=https://other.example.org\n`);
    await writeFile(join(folder, 'README.txt'), 'keys for the avatar import\n');
    const { ctx, lines } = context({ site: 'https://chat.example.com', credentials: folder }, adminEnv);
    const config = await read(ctx);
    expect(keysOf(config.mode)).toEqual({ 'ana@corp.example': ANA_KEY, 'bo@corp.example': BO_KEY });
    expect(lines.join('\n')).toMatch(/other\.zuliprc is for https:\/\/other\.example\.org/);
    expect(lines.join('\n')).toMatch(/README\.txt is not a zuliprc/);
    expect(lines.join('\n')).not.toContain('CyKeyCyKey');
  });

  test('--jwt-key-file: the secret is read byte for byte (one trailing newline dropped) and masked; the cache defaults to the config folder', async () => {
    const secret = await file('jwt.secret', ' s3cret with spaces \n');
    const { ctx, lines } = context({ site: 'https://chat.example.com:8443', 'jwt-key-file': secret }, { ...adminEnv, XDG_CONFIG_HOME: '/home/hr/.config' });
    const config = await read(ctx);
    expect(config.mode).toEqual({ kind: 'jwt', secret: ' s3cret with spaces ', cachePath: '/home/hr/.config/avatar-import/zulip-keys/chat.example.com_8443.jsonl' });
    expect(ctx.log.redact('a s3cret with spaces b')).toBe('a***b');
    expect(lines).toEqual([]);
  });

  test('a key file others can read is warned about', async () => {
    const secret = await file('jwt.secret', 'the-secret-value', 0o644);
    const { ctx, lines } = context({ site: 'https://chat.example.com', 'jwt-key-file': secret, 'key-cache': join(dir, 'k.jsonl') }, adminEnv);
    await read(ctx);
    expect(lines.join('\n')).toMatch(/can be read by other users \(mode 644\)/);
  });

  test.each([
    [{ credentials: 'x' }, adminEnv, /--site is required/],
    [{ site: 'ftp://chat', credentials: 'x' }, adminEnv, /expected an http\(s\) URL/],
    [{ site: 'https://chat?x=1', credentials: 'x' }, adminEnv, /without credentials, query or fragment/],
    [{ site: 'https://chat' }, adminEnv, /needs per-user API keys: --jwt-key-file FILE .* or --credentials/],
    [{ site: 'https://chat', credentials: 'x', 'jwt-key-file': 'y' }, adminEnv, /alternatives: give one/],
    [{ site: 'https://chat', credentials: '/nonexistent/keys.csv' }, adminEnv, /--credentials \/nonexistent\/keys.csv: cannot be read \(ENOENT\)/],
    [{ site: 'https://chat', 'jwt-key-file': '/nonexistent/jwt' }, adminEnv, /--jwt-key-file \/nonexistent\/jwt: cannot be read/],
    [{ site: 'https://chat', credentials: 'x' }, {}, /no administrator credentials: pass --admin-zuliprc FILE or set ZULIP_EMAIL and ZULIP_API_KEY/],
    [{ site: 'https://chat', 'admin-zuliprc': '/nonexistent/rc', credentials: 'x' }, {}, /--admin-zuliprc \/nonexistent\/rc: cannot be read/],
    [{ site: 'https://chat', credentials: 'x', retries: -1 }, adminEnv, /--retries expects a whole number from 0 to 100, got -1/],
  ])('%j is a usage error naming the flag', async (argv, env, message) => {
    const error = await create(context(argv, env).ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(message);
  });

  test('credentials files that cannot be right are usage errors: two keys for one email, a bad line, a header without columns', async () => {
    const run = async (text: string) => create(context({ site: 'https://chat', credentials: await file(`k${Math.random()}.csv`, text) }, adminEnv).ctx).catch((e: Error) => e.message);
    expect(await run(`ana@corp.example,${ANA_KEY}\nANA@corp.example,${BO_KEY}\n`)).toMatch(/ANA@corp.example has two different keys/);
    expect(await run(`ana@corp.example,${ANA_KEY}\nbo@corp.example\n`)).toMatch(/record 2: expected an email and an API key/);
    expect(await run('user,secret\nana@corp.example,x\n')).toMatch(/names no email and api_key columns/);
  });

  test('--site and the zuliprc disagreeing is refused; --key-cache without --jwt-key-file too', async () => {
    const rc = await file('admin.zuliprc', `[api]\nemail=admin@corp.example\nkey=${ADMIN_KEY}\nsite=https://chat.example.com\n`);
    const creds = await file('keys.csv', `ana@corp.example,${ANA_KEY}\n`);
    await expect(read(context({ site: 'https://other.example.com', 'admin-zuliprc': rc, credentials: creds }).ctx)).rejects.toThrow(/name different servers/);
    await expect(read(context({ site: 'https://chat.example.com', credentials: creds, 'key-cache': 'k' }, adminEnv).ctx)).rejects.toThrow(/--key-cache only applies/);
  });

  test('offers only its own flags; no key or secret is one of them', () => {
    expect(Object.keys(zulipTarget.options)).toEqual(['site', 'admin-zuliprc', 'jwt-key-file', 'credentials', 'key-cache']);
  });
});
