// The Zulip target's options and its settings built from them and the environment, validated before
// anything is sent. Keys and secrets come from files or the environment, never from argv.
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../errors.js';
import { text } from '../../options/declare.js';
import type { Values } from '../../options/declare.js';
import type { TargetContext } from '../target.js';
import { readCredentials, warnIfShared, type KeyMap } from './credentials.js';
import { normaliseSite, parseZuliprc } from './zuliprc.js';

export interface AdminCredential {
  readonly email: string;
  readonly key: string;
}

export type KeyMode =
  /** --credentials: keys the users handed over. */
  | { readonly kind: 'credentials'; readonly keys: KeyMap }
  /** --jwt-key-file: mint a key per user; minted keys are cached in `cachePath`. */
  | { readonly kind: 'jwt'; readonly secret: string; readonly cachePath: string };

export interface ZulipConfig {
  /** The organisation URL, without a trailing slash. */
  readonly site: string;
  readonly admin: AdminCredential;
  readonly mode: KeyMode;
  readonly concurrency: number;
  readonly retries: number;
  readonly maxRate?: number;
  /** --request-timeout, in ms, when given. */
  readonly requestTimeoutMs?: number;
}

export const EMAIL_ENV = 'ZULIP_EMAIL';
export const KEY_ENV = 'ZULIP_API_KEY';
export const SITE_ENV = 'ZULIP_SITE';
/** Low on purpose (contract notes §11.7): every upload makes the server render two PNGs and
 * tell every client in the organisation. */
export const DEFAULT_CONCURRENCY = 3;

export const zulipOptions = {
  site: text({
    arg: 'URL',
    doc: 'The organisation, e.g. `https://chat.example.com`. If the URL has no scheme, `https://` is assumed; a trailing `/api` is dropped. Default: `site=` in `--admin-zuliprc`, then `$ZULIP_SITE`. If `--site` and the zuliprc name different servers, the run is refused.',
    help: 'URL of the Zulip organisation, e.g. https://chat.example.com (default: site= in --admin-zuliprc)',
  }),
  'admin-zuliprc': text({
    path: true,
    secretFile: true,
    arg: 'FILE',
    doc: 'The `zuliprc` of an organisation **owner or administrator** (Personal settings → Account & privacy → API key → Download zuliprc). Default: `$ZULIP_EMAIL` and `$ZULIP_API_KEY`.',
    help: `zuliprc of an organisation owner or administrator, used only to find users (default: $${EMAIL_ENV} and $${KEY_ENV})`,
  }),
  'jwt-key-file': text({
    path: true,
    secretFile: true,
    arg: 'FILE',
    doc: "The HS256 secret from the server's `JWT_AUTH_KEYS` for this organisation. Used to fetch each user's key (Zulip 7.0+, self-hosted only). Alternative to `--credentials`: give one of the two.",
    help: "file holding the organisation's JWT_AUTH_KEYS HS256 secret, to fetch each user's key (self-hosted; a root credential: see the README)",
  }),
  credentials: text({
    path: true,
    secretFile: true,
    arg: 'FILE|DIR',
    doc: 'Per-user keys: a CSV of `email,api_key` (header optional; `key` also accepted as a column name; `#` starts a comment), **or** a folder of `zuliprc` files. Files that are not zuliprc files, or that name another site, are skipped with a warning.',
    help: "each user's own key: a CSV of email,api_key or a folder of zuliprc files",
  }),
  'key-cache': text({
    path: true,
    arg: 'FILE',
    doc: 'Where keys fetched with `--jwt-key-file` are kept. Default: `$XDG_CONFIG_HOME/avatar-import/zulip-keys/<host>.jsonl` (`~/.config/...` when `XDG_CONFIG_HOME` is unset, `%APPDATA%\\...` on Windows).',
    help: 'where keys fetched with --jwt-key-file are kept, encrypted, mode 0600 (default: ~/.config/avatar-import/zulip-keys/<host>.jsonl)',
  }),
};

export async function readConfig(options: Values<typeof zulipOptions>, context: TargetContext): Promise<ZulipConfig> {
  const { env, log } = context;
  const rcPath = options.adminZuliprc;
  const rc = rcPath === undefined ? undefined : await readAdminRc(rcPath, context);

  const siteFlag = options.site;
  const siteFrom = siteFlag !== undefined ? '--site' : rc?.site !== undefined ? `site in ${rcPath}` : env[SITE_ENV] ? `$${SITE_ENV}` : undefined;
  const siteText = siteFlag ?? rc?.site ?? env[SITE_ENV];
  if (siteText === undefined || siteText.trim() === '') {
    throw new UsageError('--site is required with --target zulip: the URL of the organisation, e.g. https://chat.example.com (or site= in --admin-zuliprc)');
  }
  const site = normaliseSite(siteText);
  if (typeof site !== 'string') throw new UsageError(`${siteFrom} ${siteText}: ${site.error}`);
  if (siteFlag !== undefined && rc?.site !== undefined && normaliseSite(rc.site) !== site) {
    throw new UsageError(`--site ${site} and site=${rc.site} in ${rcPath} name different servers`);
  }

  const admin = adminCredential(rc, rcPath, env);
  log.addSecret(admin.key);
  log.addSecret(basicToken(admin.email, admin.key));

  const { jwtKeyFile: jwtFile, credentials, keyCache } = options;
  if (jwtFile !== undefined && credentials !== undefined) {
    throw new UsageError('--jwt-key-file and --credentials are alternatives: give one (Zulip has no API for an admin to set another user\'s avatar, so each upload needs that user\'s key from one source)');
  }
  let mode: KeyMode;
  if (jwtFile !== undefined) {
    const secret = await readSecret(jwtFile, context);
    mode = { kind: 'jwt', secret, cachePath: keyCache ?? defaultKeyCache(site, env) };
  } else if (credentials !== undefined) {
    if (keyCache !== undefined) throw new UsageError('--key-cache only applies to keys minted with --jwt-key-file; --credentials keys are read from their file each run');
    mode = { kind: 'credentials', keys: await readCredentials(credentials, site, log) };
  } else {
    throw new UsageError('--target zulip needs per-user API keys: --jwt-key-file FILE (self-hosted servers with JWT_AUTH_KEYS) or --credentials FILE|DIR (a CSV of email,api_key or a folder of zuliprc files); Zulip has no API for an admin to set another user\'s avatar');
  }

  return { site, admin, mode, ...context.pacing };
}

/** The Authorization header value for a key. */
export function basic(email: string, key: string): string {
  return `Basic ${basicToken(email, key)}`;
}

/** The base64 part of it: it encodes the key, so it is registered as a secret as well. */
export function basicToken(email: string, key: string): string {
  return Buffer.from(`${email}:${key}`).toString('base64');
}

/**
 * Where minted keys live when --key-cache is not given: the user's config folder, one file per
 * server, never next to the CSV (HR folders are often shared). $XDG_CONFIG_HOME or ~/.config on
 * Unix, %APPDATA% on Windows.
 */
export function defaultKeyCache(site: string, env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CONFIG_HOME || (process.platform === 'win32' && env.APPDATA) || join(env.HOME || homedir(), '.config');
  const url = new URL(site);
  const name = `${url.host}${url.pathname}`.replace(/[^A-Za-z0-9.-]+/g, '_').replace(/_+$/, '');
  return join(base, 'avatar-import', 'zulip-keys', `${name}.jsonl`);
}

async function readAdminRc(path: string, context: TargetContext) {
  let content: string;
  try {
    content = await readFile(path, 'utf8');
    warnIfShared(path, (await stat(path)).mode, context.log);
  } catch (error) {
    throw new UsageError(`--admin-zuliprc ${path}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  const rc = parseZuliprc(content);
  if (!rc) throw new UsageError(`--admin-zuliprc ${path}: no [api] section; expected a zuliprc as Zulip's "Download zuliprc" gives it`);
  if (rc.key) context.log.addSecret(rc.key);
  if (rc.ignored.length > 0) context.log.warn(`--admin-zuliprc ${path}: ${rc.ignored.join(', ')} ignored (client certificates and insecure mode are not supported)`);
  return rc;
}

function adminCredential(rc: ReturnType<typeof parseZuliprc>, rcPath: string | undefined, env: NodeJS.ProcessEnv): AdminCredential {
  if (rc) {
    if (!rc.email || !rc.key) throw new UsageError(`--admin-zuliprc ${rcPath}: the [api] section needs both email and key`);
    return { email: rc.email, key: rc.key };
  }
  const email = env[EMAIL_ENV]?.trim();
  const key = env[KEY_ENV]?.trim();
  if (!email || !key) {
    throw new UsageError(`no administrator credentials: pass --admin-zuliprc FILE or set ${EMAIL_ENV} and ${KEY_ENV} (keys are never taken from the command line)`);
  }
  return { email, key };
}

async function readSecret(path: string, context: TargetContext): Promise<string> {
  let content: string;
  try {
    content = await readFile(path, 'utf8');
    warnIfShared(path, (await stat(path)).mode, context.log);
  } catch (error) {
    throw new UsageError(`--jwt-key-file ${path}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  // Only the line ending an editor adds; the secret is used byte for byte as JWT_AUTH_KEYS has it.
  const secret = content.replace(/\r?\n$/, '');
  if (!secret) throw new UsageError(`--jwt-key-file ${path}: the file is empty; expected the HS256 key from JWT_AUTH_KEYS`);
  context.log.addSecret(secret);
  return secret;
}

