// The Authgear target's options and its settings built from them, validated before anything is sent.
// The admin key is the PKCS#8 PEM the portal downloads as `<key id>.pem` (contract notes §1.1):
// the PEM carries no key id, so it comes from --key-id or, by default, the file's name.
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import type { CryptoKey } from 'jose';
import { UsageError } from '../../errors.js';
import { choice, fail, integer, text } from '../../options/declare.js';
import type { Values } from '../../options/declare.js';
import { baseUrl, required } from '../checks.js';
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
  /** --lookup-batch-size: users looked up per request (1: one request per user). */
  readonly lookupBatchSize: number;
  readonly concurrency: number;
  readonly retries: number;
  readonly maxRate?: number;
  /** --request-timeout, in ms, when given. */
  readonly requestTimeoutMs?: number;
}

/** Low on purpose: every row is five requests, each updateUser fires the blocking
 * user.profile.pre_update hook and two webhooks, and the platform's limits are undocumented. */
export const DEFAULT_CONCURRENCY = 2;
/** Chosen by measurement (scripts/bench-nightly.ts, README): below the pipeline's window of 64
 * rows in flight, so batches fill, and far under the 1 MiB body limit. */
export const DEFAULT_LOOKUP_BATCH_SIZE = 50;
/** The server resolves every alias in turn; beyond this a batch is slow to answer, and the
 * pipeline's window would never fill it anyway. 500 of the longest values stay under 1 MiB. */
export const MAX_LOOKUP_BATCH_SIZE = 500;

export const authgearOptions = {
  endpoint: text({
    arg: 'URL',
    doc: "the project's URL, the one that serves `/_api/admin` (`https://myapp.authgear.cloud`, or your custom domain or self-hosted URL)",
    help: "the Authgear project's URL, e.g. https://myapp.authgear.cloud (where /_api/admin answers)",
    check: baseUrl,
  }),
  'project-id': text({
    arg: 'ID',
    doc: "the project ID (`myapp` for `myapp.authgear.cloud`). It is the token's audience; a custom domain does not change it.",
    help: "the Authgear project ID (myapp for myapp.authgear.cloud): the Admin API token's audience",
    check: (value, where) => {
      const id = value.trim();
      if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(id)) fail(where, 'a project ID such as myapp (letters, digits, - and _)', value);
      return id;
    },
  }),
  'admin-key-file': text({
    path: true,
    secretFile: true,
    arg: 'FILE',
    doc: 'the private key downloaded from the portal: a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). A PKCS#1 key (`BEGIN RSA PRIVATE KEY`) is refused with the `openssl pkcs8 -topk8 -nocrypt` command that converts it.',
    help: 'the PKCS#8 private key (.pem) downloaded from the portal, Advanced → Admin API',
  }),
  'key-id': text({
    arg: 'KID',
    doc: "the key ID from the portal. Default: the key file's name without `.pem`, which is how the portal saves it.",
    help: "the Admin API key ID from the portal (default: the key file's name without .pem, as the portal saves it)",
    check: (value, where) => {
      const id = value.trim();
      if (/\s/.test(id)) fail(where, 'the key ID copied from the portal', value);
      return id;
    },
  }),
  'match-by': choice(MATCH_BY, {
    arg: 'ATTR',
    default: 'email',
    doc: "what the CSV's user column holds: `email`, `phone_number` (E.164, `+34600000001`) or `preferred_username`",
    help: "the standard attribute the CSV's user column holds",
  }),
  'lookup-batch-size': integer({
    min: 1,
    max: MAX_LOOKUP_BATCH_SIZE,
    arg: 'N',
    default: DEFAULT_LOOKUP_BATCH_SIZE,
    doc: 'users looked up per GraphQL request (see **Lookups in batches**); `1` sends one lookup per request',
    help: 'users looked up per GraphQL request; 1 sends one lookup per request',
  }),
};

export async function readConfig(options: Values<typeof authgearOptions>, context: TargetContext): Promise<AuthgearConfig> {
  if (options.endpoint === undefined) required('endpoint', 'authgear', 'the project URL, e.g. https://myapp.authgear.cloud');
  if (options.projectId === undefined) required('project-id', 'authgear', 'the project ID shown in the portal (myapp for myapp.authgear.cloud; a custom domain does not change it)');
  const keyFile = options.adminKeyFile;
  if (keyFile === undefined) required('admin-key-file', 'authgear', 'the PKCS#8 .pem downloaded from the portal (Advanced → Admin API)');
  const privateKey = await readKey(keyFile);
  return {
    endpoint: options.endpoint,
    projectId: options.projectId,
    keyId: options.keyId ?? keyIdFromFile(keyFile),
    privateKey,
    matchBy: options.matchBy,
    runId: context.runId,
    overwriteUserChanges: context.overwriteUserChanges,
    lookupBatchSize: options.lookupBatchSize,
    ...context.pacing,
  };
}

/** The portal saves the key as `<key id>.pem`. */
function keyIdFromFile(keyFile: string): string {
  const name = basename(keyFile, extname(keyFile));
  if (!name) throw new UsageError(`--admin-key-file ${keyFile}: cannot take a key ID from this file name; pass --key-id`);
  return name;
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
    // jose loads only when an Authgear target is configured, not at every start-up.
    const { importPKCS8 } = await import('jose');
    return await importPKCS8(block[0], 'RS256');
  } catch (error) {
    throw new UsageError(`--admin-key-file ${file}: not an RSA private key usable for RS256 (${error instanceof Error ? error.message : String(error)})`);
  }
}

