// Responses and transport failures become the taxonomy of src/errors.ts here and nowhere else.
// What is common to every HTTP API (5xx, 429, resets, timeouts) is decided in this file; what a
// refusal means (a 403 that is "not an admin" versus "avatar not allowed") belongs to the API, so
// each target family supplies an ErrorPolicy.
import { RequestError, TimeoutError } from 'got';
import { AvatarError, FatalError } from '../errors.js';
import { parseJson, type HttpRequest, type HttpResponse } from './http.js';
import { parseRetryAfter } from './retry-after.js';

export interface ErrorPolicy {
  /** The delay a 429 body asks for, used when there is no Retry-After header
   * (Matrix: `retry_after_ms`; Zulip: `retry-after` in seconds). */
  retryAfterFromBody?(body: unknown): number | undefined;
  /** A refusal (4xx, or 3xx since redirects are not followed) the caller did not `expect`. */
  refusal(response: HttpResponse, request: HttpRequest): AvatarError;
}

/** When a 429 says nothing about when to come back. */
export const DEFAULT_RETRY_AFTER_MS = 5_000;

/** Undefined when the response is one the caller takes (2xx or expected). */
export function classifyResponse(
  response: HttpResponse,
  request: HttpRequest,
  policy: ErrorPolicy,
  nowEpochMs: number = Date.now(),
): AvatarError | undefined {
  const { status } = response;
  if ((status >= 200 && status < 300) || request.expect?.includes(status)) return undefined;
  const what = request.what ?? `${request.method} ${request.path}`;
  const header = parseRetryAfter(response.headers['retry-after'], nowEpochMs);
  if (status === 429 || (status === 503 && header !== undefined)) {
    const retryAfterMs = retryAfter(header, policy.retryAfterFromBody?.(response.json()));
    return new AvatarError('retry-after', 'rate_limited', `${what}: HTTP ${status}, asked to wait ${retryAfterMs} ms`, { retryAfterMs });
  }
  if (status >= 500 || status === 408) {
    return new AvatarError('retry', 'server_error', `${what}: HTTP ${status}${snippet(response.body)}`);
  }
  return policy.refusal(response, request);
}

/**
 * The header first, then the body, then a default. One refinement: Synapse sends
 * `Retry-After: ceil(retry_after_ms / 1000)`, so when the header is exactly the body's value
 * rounded up to whole seconds, the body is the same answer, only more precise; waiting out the
 * rounding would pause the whole target up to a second longer on every 429.
 */
function retryAfter(header: number | undefined, body: number | undefined): number {
  if (header !== undefined && body !== undefined && Math.ceil(body / 1000) * 1000 === header) return body;
  return header ?? body ?? DEFAULT_RETRY_AFTER_MS;
}

// Failures where the request never reached the server: re-sending is always safe.
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'EADDRNOTAVAIL']);
const NOT_SENT_TIMEOUTS = new Set(['lookup', 'connect', 'secureConnect']);

/**
 * A got transport error as the taxonomy sees it; undefined for anything else (an abort, a bug),
 * which the caller rethrows untouched. A read that failed is retried; a write that failed after it
 * was sent may have been applied, so it is 'unknown' and the pacer re-sends it only when the caller
 * declared it idempotent.
 */
export function classifyTransport(error: unknown, request: HttpRequest): AvatarError | undefined {
  if (!(error instanceof RequestError) || error.name === 'AbortError' || error.code === 'ERR_ABORTED') return undefined;
  const what = request.what ?? `${request.method} ${request.path}`;
  const code = error.code ?? 'ERR_UNKNOWN';
  // A certificate problem will not fix itself within the run.
  if (/^(CERT_|ERR_TLS|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|ERR_SSL)/.test(code)) {
    return new FatalError('tls_failed', `${what}: TLS failed (${code}): ${error.message}`);
  }
  const phase = error instanceof TimeoutError ? error.event : undefined;
  const notSent = NOT_SENT.has(code) || (phase !== undefined && NOT_SENT_TIMEOUTS.has(phase));
  const read = request.method === 'GET' || request.method === 'HEAD';
  const detail = phase ? `timed out (${phase})` : `${code}: ${error.message}`;
  if (notSent || read) return new AvatarError('retry', code === 'ETIMEDOUT' ? 'timeout' : 'network_error', `${what}: ${detail}`);
  return new AvatarError('unknown', 'write_unknown', `${what}: ${detail}; the server may or may not have applied it`);
}

/**
 * The response as error messages may quote it: the body with every registered secret masked
 * (a server that echoes the Authorization header), before any excerpt is cut from it — cutting
 * first would leave a token straddling the cut readable minus its tail. Lazy: an answer that is
 * taken (2xx) is never decoded for this.
 */
export function maskedForMessages(response: HttpResponse, redact: (text: string) => string): HttpResponse {
  let body: Buffer | undefined;
  const view: HttpResponse = {
    status: response.status,
    headers: response.headers,
    get body() {
      return (body ??= Buffer.from(redact(response.body.toString('utf8'))));
    },
    json: () => parseJson(view.body),
  };
  return view;
}

/** The string-valued fields `names` of a JSON object body (an API's error code and message), and
 * none for a proxy's HTML page, an empty body or a field of another type. */
export function stringFields<K extends string>(response: HttpResponse, names: readonly K[]): Partial<Record<K, string>> {
  const body = response.json();
  const out: Partial<Record<K, string>> = {};
  if (typeof body !== 'object' || body === null) return out;
  for (const name of names) {
    const value = (body as Record<string, unknown>)[name];
    if (typeof value === 'string') out[name] = value;
  }
  return out;
}

/** A short, printable excerpt of an error body for messages (an HTML error page, a JSON error).
 * Cut from a body already masked (maskedForMessages). */
export function snippet(body: Buffer, max = 120): string {
  const text = body.toString('utf8').replace(/\s+/g, ' ').trim();
  if (!text) return '';
  return `: ${text.length > max ? text.slice(0, max) + '…' : text}`;
}
