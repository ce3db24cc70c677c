// The Authgear target's settings from the CLI's parsed flags, validated before anything is sent.
// The admin key is the PKCS#8 PEM the portal downloads as `<key id>.pem` (contract notes §1.1):
// the PEM carries no key id, so it comes from --key-id or, by default, the file's name.
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { importPKCS8, type CryptoKey } from 'jose';
import { UsageError } from '../../errors.js';
import { baseUrlFlag, flag, pacingFlags } from '../flags.js';
import type { TargetContext } from '../target.js';

export const MATCH_BY = ['email', 'phone_number', 'preferred_username'] as const;
export type MatchBy = (typeof MATCH_BY)[number];

export interface AuthgearConfig {
  /** Where the Admin API answers (https://myapp.authgear.cloud), without a trailing slash. */
  readonly endpoint: string;
  /** The project (app) id: the JWT's audience. */
  readonly projectId: string;
  readonly keyId: string;
  readonly privateKey: CryptoKey;
  readonly matchBy: MatchBy;
  /** Goes into every JWT's audit_context, so Authgear's audit log names the run. */
  readonly runId: string;
  /** --overwrite-user-changes: a picture changed between lookup and write is replaced anyway. */
  readonly overwriteUserChanges: boolean;
  readonly concurrency: number;
  readonly retries: number;
  readonly maxRate?: number;
  /** --request-timeout, in ms, when given. */
  readonly requestTimeoutMs?: number;
}

/** Low on purpose: every row is five requests, each updateUser fires the blocking
 * user.profile.pre_update hook and two webhooks, and the platform's limits are undocumented. */
export const DEFAULT_CONCURRENCY = 2;
export const DEFAULT_RETRIES = 5;

export async function readConfig(context: TargetContext): Promise<AuthgearConfig> {
  const { argv } = context;
  const endpoint = baseUrlFlag(flag(argv, 'endpoint'), {
    name: 'endpoint', required: 'with --target authgear: the project URL', example: 'https://myapp.authgear.cloud',
  });
  const projectId = parseProjectId(flag(argv, 'project-id'));
  const keyFile = flag(argv, 'admin-key-file');
  if (keyFile === undefined || keyFile === '') {
    throw new UsageError('--admin-key-file is required with --target authgear: the PKCS#8 .pem downloaded from the portal (Advanced → Admin API)');
  }
  const privateKey = await readKey(String(keyFile));
  const keyId = parseKeyId(flag(argv, 'key-id'), String(keyFile));
  const matchBy = parseMatchBy(flag(argv, 'match-by'));
  return {
    endpoint,
    projectId,
    keyId,
    privateKey,
    matchBy,
    runId: context.runId,
    overwriteUserChanges: flag(argv, 'overwrite-user-changes') === true,
    ...pacingFlags(argv, { concurrency: DEFAULT_CONCURRENCY, retries: DEFAULT_RETRIES }),
  };
}

function parseProjectId(value: unknown): string {
  if (value === undefined || value === '') {
    throw new UsageError('--project-id is required with --target authgear: the project ID shown in the portal (myapp for myapp.authgear.cloud; a custom domain does not change it)');
  }
  const id = String(value).trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(id)) {
    throw new UsageError(`--project-id ${String(value)}: expected a project ID such as myapp (letters, digits, - and _)`);
  }
  return id;
}

function parseKeyId(value: unknown, keyFile: string): string {
  if (value !== undefined && value !== '') {
    const id = String(value).trim();
    if (!id || /\s/.test(id)) throw new UsageError(`--key-id ${String(value)}: expected the key ID copied from the portal`);
    return id;
  }
  // The portal saves the key as `<key id>.pem`.
  const name = basename(keyFile, extname(keyFile));
  if (!name) throw new UsageError(`--admin-key-file ${keyFile}: cannot take a key ID from this file name; pass --key-id`);
  return name;
}

function parseMatchBy(value: unknown): MatchBy {
  if (value === undefined || value === '') return 'email';
  const text = String(value);
  if (!(MATCH_BY as readonly string[]).includes(text)) {
    throw new UsageError(`--match-by ${text}: expected one of ${MATCH_BY.join(', ')}`);
  }
  return text as MatchBy;
}

async function readKey(file: string): Promise<CryptoKey> {
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--admin-key-file ${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  if (/-----BEGIN RSA PRIVATE KEY-----/.test(pem)) {
    throw new UsageError(`--admin-key-file ${file}: a PKCS#1 key; Authgear's portal downloads PKCS#8 (convert with: openssl pkcs8 -topk8 -nocrypt -in ${basename(file)})`);
  }
  const block = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(pem);
  if (!block) {
    throw new UsageError(`--admin-key-file ${file}: no "-----BEGIN PRIVATE KEY-----" block; expected the PKCS#8 .pem downloaded from the portal (Advanced → Admin API)`);
  }
  try {
    return await importPKCS8(block[0], 'RS256');
  } catch (error) {
    throw new UsageError(`--admin-key-file ${file}: not an RSA private key usable for RS256 (${error instanceof Error ? error.message : String(error)})`);
  }
}

