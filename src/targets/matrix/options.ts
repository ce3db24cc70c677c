// The Matrix target's settings from the CLI's parsed flags and the environment, validated before
// anything is sent. The token comes from --token-file or MATRIX_ACCESS_TOKEN, never from argv.
import { readFile } from 'node:fs/promises';
import { UsageError } from '../../errors.js';
import { baseUrlFlag, flag, pacingFlags } from '../flags.js';
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
export const DEFAULT_RETRIES = 5;

export async function readConfig(context: TargetContext): Promise<MatrixConfig> {
  const { argv, env } = context;
  const homeserver = baseUrlFlag(flag(argv, 'homeserver'), {
    name: 'homeserver', required: 'with --target matrix: the URL of the client API', example: 'https://matrix.example.org',
  });
  const token = await readToken(flag(argv, 'token-file'), env);
  return { homeserver, token, ...pacingFlags(argv, { concurrency: DEFAULT_CONCURRENCY, retries: DEFAULT_RETRIES }) };
}

async function readToken(file: unknown, env: NodeJS.ProcessEnv): Promise<string> {
  if (file !== undefined && file !== '') {
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

