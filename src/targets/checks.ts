// Rules several targets' options share, so the same mistake gets the same message whichever
// target it is made for.
import { UsageError } from '../errors.js';
import { fail } from '../options/declare.js';
import type { Where } from '../options/declare.js';

/**
 * A server's base URL: http(s), no credentials, query or fragment (they would end up in logs and
 * the ledger's target id), returned without a trailing slash.
 */
export function baseUrl(value: string, where: Where): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail(where, 'an http(s) URL such as https://example.org', value);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') fail(where, 'an http(s) URL', value);
  if (url.username || url.password || url.search || url.hash) {
    throw new UsageError(`--${where.flag} ${url.origin}: give the bare URL, without credentials, query or fragment${where.origin ? ` (${where.origin})` : ''}`);
  }
  return (url.origin + url.pathname).replace(/\/+$/, '');
}

/** A required option's absence, named the same way for every target. */
export function required(flag: string, target: string, what: string): never {
  throw new UsageError(`--${flag} is required with --target ${target}: ${what}`);
}
