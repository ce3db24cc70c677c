// The Matrix target's settings from its declared options (index.ts) and the environment, validated
// before anything is sent. The token comes from --token-file or MATRIX_ACCESS_TOKEN, never from argv.
import { readFile } from 'node:fs/promises';
import { UsageError } from '../../errors.js';
import { text } from '../../options/declare.js';
import type { Values } from '../../options/declare.js';
import { baseUrl, required } from '../checks.js';
import type { TargetContext } from '../target.js';

export interface MatrixConfig {
  /** The client-server API base URL, without a trailing slash. */
  readonly homeserver: string;
  readonly token: string;
  readonly concurrency: number;
  readonly retries: number;
  readonly maxRate?: number;
  /** --request-timeout, in ms, when given. */
  readonly requestTimeoutMs?: number;
}

export const TOKEN_ENV = 'MATRIX_ACCESS_TOKEN';
export const DEFAULT_CONCURRENCY = 4;

export const matrixOptions = {
  homeserver: text({
    arg: 'URL',
    doc: 'the client API base URL. `/_synapse/admin` must be routed to Synapse\'s main process at the same URL.',
    help: 'URL of the homeserver client API, e.g. https://matrix.example.org (the admin API must be reachable there too)',
    check: baseUrl,
  }),
  'token-file': text({
    path: true,
    secretFile: true,
    arg: 'FILE',
    doc: `file holding a server admin's access token. Otherwise \`${TOKEN_ENV}\` is read. The token is never accepted on the command line or in a config file.`,
    help: `file holding a server admin's access token (default: $${TOKEN_ENV}; never on the command line)`,
  }),
};

export async function readConfig(options: Values<typeof matrixOptions>, context: TargetContext): Promise<MatrixConfig> {
  if (options.homeserver === undefined) required('homeserver', 'matrix', 'the URL of the client API, e.g. https://matrix.example.org');
  const token = await readToken(options.tokenFile, context.env);
  return { homeserver: options.homeserver, token, ...context.pacing };
}

async function readToken(file: string | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(String(file), 'utf8');
    } catch (error) {
      throw new UsageError(`--token-file ${String(file)}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
    const token = text.trim();
    if (!token) throw new UsageError(`--token-file ${String(file)}: the file is empty; expected an access token`);
    return token;
  }
  const token = env[TOKEN_ENV]?.trim();
  if (!token) {
    throw new UsageError(`no access token: set ${TOKEN_ENV} or pass --token-file (tokens are never taken from the command line)`);
  }
  return token;
}

