// The one got factory every HTTP target uses. It only moves bytes: got's own retry is off (the
// pacer retries, once, for everyone), HTTP statuses never throw (net/errors.ts classifies them in
// one place), and a request fails only for transport reasons (reset, refused, timeout).
import { readFileSync } from 'node:fs';
import got, { type Got, type Delays } from 'got';
import type { Logger } from '../log.js';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HttpRequest {
  readonly method: HttpMethod;
  /** A path joined to the base URL, or an absolute URL used as given (signed upload URLs). */
  readonly path: string;
  readonly searchParams?: Readonly<Record<string, string | number | boolean>>;
  readonly headers?: Readonly<Record<string, string>>;
  /** Serialised as JSON with `Content-Type: application/json`. */
  readonly json?: unknown;
  /** Sent as is; a Buffer so that Content-Length is always set (Synapse refuses chunked uploads). */
  readonly body?: Buffer;
  /** Non-2xx statuses the caller handles itself (a 404 that means "no such user"). */
  readonly expect?: readonly number[];
  /** Re-sending cannot do harm, so an ambiguous failure may simply be retried. Default: by method. */
  readonly idempotent?: boolean;
  /** Names the call in error messages ("upload", "look up @ana:example.org"). */
  readonly what?: string;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
  /** The body as JSON, or undefined when it is empty or not JSON (proxy HTML, an empty 415). */
  json(): unknown;
}

export type Timeouts = Delays;

/** Per phase, so a slow server is told apart from a dead one (a request that never connected is
 * safe to re-send, even a write). How long an answer may take is the pacer's deadline
 * (net/deadline.ts, --request-timeout): the response phase here is only a backstop above the
 * largest --request-timeout, for a call made outside a pacer. */
export const DEFAULT_TIMEOUTS: Timeouts = {
  lookup: 5_000,
  connect: 10_000,
  secureConnect: 10_000,
  send: 60_000,
  response: 3_660_000,
};

export interface HttpOptions {
  readonly baseUrl: string;
  readonly log: Logger;
  /** Called per request so that short-lived tokens can be re-minted; each value is registered
   * with the logger as a secret before it is sent. Tokens only ever travel in this header. */
  readonly bearer?: () => string | undefined;
  readonly timeouts?: Timeouts;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface HttpClient {
  readonly baseUrl: string;
  /** Resolves with any HTTP status; rejects only with got's transport errors. */
  request(request: HttpRequest, signal?: AbortSignal): Promise<HttpResponse>;
}

export const USER_AGENT = `avatar-import/${packageVersion()}`;

export function createHttp(options: HttpOptions): HttpClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const client: Got = got.extend({
    retry: { limit: 0 },
    throwHttpErrors: false,
    // A redirect would be followed with the token to wherever it points; a homeserver URL that
    // redirects is a configuration mistake worth reporting instead.
    followRedirect: false,
    responseType: 'buffer',
    timeout: { ...DEFAULT_TIMEOUTS, ...options.timeouts },
    headers: { 'user-agent': USER_AGENT, accept: 'application/json', ...options.headers },
  });

  return {
    baseUrl,
    async request(request, signal) {
      const url = new URL(/^https?:\/\//.test(request.path) ? request.path : baseUrl + request.path);
      for (const [key, value] of Object.entries(request.searchParams ?? {})) url.searchParams.set(key, String(value));
      const headers: Record<string, string> = { ...request.headers };
      const token = options.bearer?.();
      if (token) {
        options.log.addSecret(token);
        headers.authorization = `Bearer ${token}`;
      }
      const response = await client(url, {
        method: request.method,
        headers,
        ...(request.json !== undefined ? { json: request.json } : {}),
        ...(request.body !== undefined ? { body: request.body } : {}),
        ...(signal ? { signal } : {}),
      });
      const body = response.rawBody ?? Buffer.alloc(0);
      return { status: response.statusCode, headers: response.headers, body, json: () => parseJson(body) };
    },
  };
}

export function parseJson(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

// src/net and dist/net sit at the same depth below the package root.
function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}
