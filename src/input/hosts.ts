// --allow-host: which URLs an image cell (or a redirect) may point at. Checked on every hop, so
// an allowed host cannot bounce the fetch to one that is not.

import { domainToASCII } from 'node:url';
import { RowError } from '../errors.js';

interface Allowed {
  host: string;
  /** undefined: any port on that host. */
  port: string | undefined;
}

/**
 * Reads `host` or `host:port` (also `[v6]:port`), case-insensitively and with international
 * names in their ASCII form, as URL.hostname spells them.
 */
export function parseAllowHost(entry: string): Allowed {
  const text = entry.trim().toLowerCase();
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) return { host: `[${bracketed[1]}]`, port: bracketed[2] };
  if (text.split(':').length > 2) return { host: `[${text}]`, port: undefined }; // bare IPv6
  const [name = '', port] = text.split(':');
  return { host: normaliseName(name), port: port === undefined || port === '' ? undefined : String(Number(port)) };
}

function normaliseName(name: string): string {
  const withoutDot = name.replace(/\.$/, '');
  return domainToASCII(withoutDot) || withoutDot;
}

/** Throws url_not_allowed unless `url` is http(s) on an allowed host. `how` says how we got there. */
export function checkUrl(url: URL, allowHosts: readonly string[], how = ''): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new RowError('url_not_allowed', `${how}${url.protocol} URLs are not fetched, only http: and https:`);
  }
  const host = url.hostname.replace(/\.$/, '');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const allowed = allowHosts.map(parseAllowHost).some((entry) => entry.host === host && (entry.port === undefined || entry.port === port));
  if (!allowed) {
    const list = allowHosts.length === 0 ? 'no host is allowed (use --allow-host)' : `allowed: ${allowHosts.join(', ')}`;
    throw new RowError('url_not_allowed', `${how}${url.host} is not an allowed host (${list})`);
  }
}

/** A URL fit for a log or the ledger: no credentials, and no query (signed URLs carry keys there). */
export function displayUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}${url.search ? '?…' : ''}`;
}
