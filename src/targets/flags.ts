// Reading a target's flags from the CLI's parsed argv: every target validates its own options with
// these, so the same mistake gets the same message whichever target it is made for.
import { UsageError } from '../errors.js';

export type Argv = Readonly<Record<string, unknown>>;

/** yargs offers both spellings (`token-file`, `tokenFile`); tests and other callers may pass either. */
export function flag(argv: Argv, name: string): unknown {
  return argv[name] ?? argv[name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase())];
}

export function textFlag(argv: Argv, name: string): string | undefined {
  const value = flag(argv, name);
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`--${name} expects a value`);
  return value;
}

export function numberFlag(argv: Argv, name: string, rule: { min: number; integer?: boolean }): number | undefined {
  const raw = flag(argv, name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  const integer = rule.integer ?? true;
  if (!Number.isFinite(value) || value < rule.min || (integer && !Number.isInteger(value))) {
    throw new UsageError(`--${name} ${String(raw)}: expected ${integer ? 'an integer' : 'a number'} >= ${rule.min}`);
  }
  return value;
}

/**
 * A server's base URL: http(s), no credentials, query or fragment (they would end up in logs and
 * the ledger's target id), returned without a trailing slash.
 */
export function baseUrlFlag(value: unknown, option: { name: string; required: string; example: string }): string {
  if (value === undefined || value === '') throw new UsageError(`--${option.name} is required ${option.required}, e.g. ${option.example}`);
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new UsageError(`--${option.name} ${String(value)}: not a URL; expected e.g. ${option.example}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UsageError(`--${option.name} ${String(value)}: expected an http(s) URL`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new UsageError(`--${option.name} ${url.origin}: give the bare URL, without credentials, query or fragment`);
  }
  return (url.origin + url.pathname).replace(/\/+$/, '');
}

/** --request-timeout's bounds, in seconds. */
export const REQUEST_TIMEOUT_RANGE = { min: 1, max: 3600 } as const;

/** The pacing flags every remote target takes (--concurrency, --retries, --max-rate, --request-timeout). */
export function pacingFlags(argv: Argv, defaults: { concurrency: number; retries: number }): { concurrency: number; retries: number; maxRate?: number; requestTimeoutMs?: number } {
  const maxRate = numberFlag(argv, 'max-rate', { min: 0, integer: false });
  const timeout = flag(argv, 'request-timeout');
  let requestTimeoutMs: number | undefined;
  if (timeout !== undefined) {
    const seconds = Number(timeout);
    const { min, max } = REQUEST_TIMEOUT_RANGE;
    if (!Number.isFinite(seconds) || seconds < min || seconds > max) {
      throw new UsageError(`--request-timeout expects seconds from ${min} to ${max}, got "${String(timeout)}"`);
    }
    requestTimeoutMs = Math.round(seconds * 1000);
  }
  return {
    concurrency: numberFlag(argv, 'concurrency', { min: 1 }) ?? defaults.concurrency,
    retries: numberFlag(argv, 'retries', { min: 0 }) ?? defaults.retries,
    ...(maxRate ? { maxRate } : {}),
    ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }),
  };
}
