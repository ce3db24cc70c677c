// --url-auth HOST[:PORT]=ENVVAR: the credential an HRIS photo endpoint needs (BambooHR: an API key
// over Basic auth; others a bearer token), sent to that host only. The value is read from the
// environment so it never sits in argv (ps), shell history, the ledger's options or a log; the
// option itself names only the variable.

import { UsageError } from '../errors.js';
import { parseAllowHost } from './hosts.js';

export interface UrlAuth {
  /** As parseAllowHost reads it: lower-case host, port undefined for "any port". */
  readonly host: string;
  readonly port: string | undefined;
  /** The environment variable, for messages (never the value). */
  readonly variable: string;
  /** The Authorization header value. */
  readonly header: string;
}

/**
 * One `--url-auth` entry. The value is sent as it is when it starts with "Basic " or "Bearer ",
 * else as "Bearer <value>". Throws UsageError naming the option (and the variable, never its value).
 */
export function parseUrlAuth(entry: string, env: NodeJS.ProcessEnv): UrlAuth {
  const at = entry.lastIndexOf('=');
  const target = at === -1 ? '' : entry.slice(0, at).trim();
  const variable = at === -1 ? '' : entry.slice(at + 1).trim();
  if (target === '' || !/^[a-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-f:.]+\](:\d{1,5})?$/i.test(target) || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable)) {
    throw new UsageError(`--url-auth expects HOST[:PORT]=ENVVAR (the credential is read from that environment variable), got ${JSON.stringify(entry)}`);
  }
  const value = env[variable]?.trim();
  if (!value) throw new UsageError(`--url-auth ${entry}: the environment variable ${variable} is not set or empty`);
  const { host, port } = parseAllowHost(target);
  const header = /^(Basic|Bearer) \S/.test(value) ? value : `Bearer ${value}`;
  return { host, port, variable, header };
}

/**
 * The credential for exactly this URL's host and port, if any. Over plain http only for an entry
 * that names the port (a test or internal server named on purpose): a host-only entry must not
 * send a key in clear text because a redirect went from https to http.
 */
export function authFor(url: URL, auths: readonly UrlAuth[] | undefined): UrlAuth | undefined {
  if (!auths || auths.length === 0) return undefined;
  const host = url.hostname.replace(/\.$/, '').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return auths.find((auth) => auth.host === host && (auth.port === undefined ? url.protocol === 'https:' : auth.port === port));
}
