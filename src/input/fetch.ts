// Fetching an image URL. got does the HTTP; redirects are followed here, one hop at a time, so
// every hop passes the allow list before a connection is made to it, and the body is counted as
// it arrives so an oversized (or endless) response is cut off at the cap, not after it.

import got from 'got';
import type { IncomingMessage } from 'node:http';
import { FatalError, RowError } from '../errors.js';
import { checkUrl, displayUrl } from './hosts.js';
import { authFor, type UrlAuth } from './url-auth.js';

const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export interface FetchOptions {
  allowHosts: readonly string[];
  /** For the whole fetch, redirects included. */
  timeoutMs: number;
  maxBytes: number;
  /** --url-auth: credentials, each sent only to its own host and port, hop by hop. */
  auth?: readonly UrlAuth[];
}

export async function fetchImage(url: URL, options: FetchOptions, signal?: AbortSignal): Promise<Buffer> {
  const deadline = Date.now() + options.timeoutMs;
  let current = url;
  for (let hops = 0; ; hops++) {
    const outcome = await fetchOnce(current, options, deadline - Date.now(), signal);
    if ('body' in outcome) return outcome.body;
    if (hops === MAX_REDIRECTS) throw failed(url, `more than ${MAX_REDIRECTS} redirects`);
    let next: URL;
    try {
      next = new URL(outcome.location, current);
    } catch (error) {
      throw failed(current, `redirect to an invalid URL ${JSON.stringify(outcome.location)}`, error);
    }
    checkUrl(next, options.allowHosts, `${displayUrl(url)} redirects to ${displayUrl(next)}: `);
    current = next;
  }
}

async function fetchOnce(
  url: URL,
  options: FetchOptions,
  remainingMs: number,
  signal: AbortSignal | undefined,
): Promise<{ body: Buffer } | { location: string }> {
  if (remainingMs <= 0) throw failed(url, `timed out after ${options.timeoutMs} ms`);
  // Decided for this hop alone: a redirect to another host or port gets its own (or none).
  const auth = authFor(url, options.auth);
  const stream = got.stream(url, {
    ...(auth ? { headers: { authorization: auth.header } } : {}),
    timeout: { request: remainingMs },
    // Retrying is the pipeline's decision (it knows the budget and the row); got must not.
    retry: { limit: 0 },
    followRedirect: false,
    throwHttpErrors: false,
    // Images are compressed already; asking for identity also keeps a gzip bomb from inflating
    // past the byte cap, which counts bytes as received.
    decompress: false,
    ...(signal ? { signal } : {}),
  });
  try {
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      stream.once('response', resolve);
      stream.once('error', reject);
    });
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (REDIRECTS.has(status) && location) return { location };
    if (auth && (status === 401 || status === 403)) {
      // The credential is wrong (or lacks the right), and it is the same for every row: one
      // fatal stop, not ten thousand failed rows.
      throw new FatalError(
        'url_auth_rejected',
        `GET ${displayUrl(url)}: HTTP ${status}: ${url.host} refused the credential from ${auth.variable} (--url-auth); check its value and rights`,
      );
    }
    if (status < 200 || status > 299) throw failed(url, `HTTP ${status}${response.statusMessage ? ` ${response.statusMessage}` : ''}`);
    const declared = Number(response.headers['content-length']);
    if (declared > options.maxBytes) throw tooLarge(url, options.maxBytes, `declares ${declared} bytes, more`);

    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > options.maxBytes) throw tooLarge(url, options.maxBytes, 'sent more');
      chunks.push(chunk);
    }
    return { body: Buffer.concat(chunks, total) };
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (error instanceof RowError || error instanceof FatalError) throw error;
    const code = (error as { code?: string }).code;
    const cause = code === 'ETIMEDOUT' ? `timed out after ${options.timeoutMs} ms` : `${(error as Error).message}${code && !(error as Error).message.includes(code) ? ` (${code})` : ''}`;
    throw failed(url, cause, error);
  } finally {
    // Ends the connection of a response we did not read to the end (redirect, error, too large).
    stream.destroy();
  }
}

function failed(url: URL, why: string, cause?: unknown): RowError {
  return new RowError('fetch_failed', `GET ${displayUrl(url)}: ${why}`, cause === undefined ? undefined : { cause });
}

function tooLarge(url: URL, maxBytes: number, why: string): RowError {
  return new RowError('image_too_large', `${displayUrl(url)} ${why} than --max-source-bytes (${maxBytes} bytes)`);
}
