// The Matrix target's settings from the CLI's parsed flags and the environment, validated before
// anything is sent. The token comes from --token-file or MATRIX_ACCESS_TOKEN, never from argv.
import { readFile } from 'node:fs/promises';
import { UsageError } from '../../errors.js';
import type { TargetContext } from '../target.js';

export interface MatrixConfig {
  /** The client-server API base URL, without a trailing slash. */
  readonly homeserver: string;
  readonly token: string;
  readonly concurrency: number;
  readonly retries: number;
  readonly maxRate?: number;
}

export const TOKEN_ENV = 'MATRIX_ACCESS_TOKEN';
export const DEFAULT_CONCURRENCY = 4;
export const DEFAULT_RETRIES = 5;

export async function readConfig(context: TargetContext): Promise<MatrixConfig> {
  const { argv, env } = context;
  const homeserver = parseHomeserver(flag(argv, 'homeserver'));
  const token = await readToken(flag(argv, 'token-file'), env);
  const maxRate = number(argv, 'max-rate', { min: 0, integer: false });
  return {
    homeserver,
    token,
    concurrency: number(argv, 'concurrency', { min: 1 }) ?? DEFAULT_CONCURRENCY,
    retries: number(argv, 'retries', { min: 0 }) ?? DEFAULT_RETRIES,
    ...(maxRate ? { maxRate } : {}),
  };
}

/** yargs offers both spellings; tests and other callers may pass either. */
function flag(argv: Readonly<Record<string, unknown>>, name: string): unknown {
  return argv[name] ?? argv[name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())];
}

function parseHomeserver(value: unknown): string {
  if (value === undefined || value === '') {
    throw new UsageError('--homeserver is required with --target matrix: the URL of the client API, e.g. https://matrix.example.org');
  }
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new UsageError(`--homeserver ${String(value)}: not a URL; expected e.g. https://matrix.example.org`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UsageError(`--homeserver ${String(value)}: expected an http(s) URL`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new UsageError(`--homeserver ${url.origin}: give the bare URL, without credentials, query or fragment`);
  }
  return (url.origin + url.pathname).replace(/\/+$/, '');
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

function number(argv: Readonly<Record<string, unknown>>, name: string, rule: { min: number; integer?: boolean }): number | undefined {
  const raw = flag(argv, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  const integer = rule.integer ?? true;
  if (!Number.isFinite(value) || value < rule.min || (integer && !Number.isInteger(value))) {
    throw new UsageError(`--${name} ${String(raw)}: expected ${integer ? 'an integer' : 'a number'} >= ${rule.min}`);
  }
  return value;
}
