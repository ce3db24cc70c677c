// Zulip's rate limiter: api_by_user (a sliding window per user, 200/min by default) with
// X-RateLimit-* headers on every authenticated answer, api_by_ip for unauthenticated calls, and
// RateLimitedError's 429 (fractional Retry-After, RATE_LIMIT_HIT body). Tests can force 429s.
import type { Reply } from '../harness.js';
import { zulipError } from './replies.js';
import type { ZulipUserState } from './state.js';

export interface Rule {
  readonly requests: number;
  readonly windowMs: number;
}

export class RateLimits {
  #forced = new Map<number, { left: number; retryAfterSeconds: number }>();
  #windows = new Map<string, number[]>();

  constructor(private readonly options: { readonly now: () => number; readonly user: Rule; readonly ip: Rule }) {}

  /** The next `requests` authenticated requests by this user are answered 429 asking to wait. */
  forceNext(userId: number, requests: number, retryAfterSeconds: number): void {
    this.#forced.set(userId, { left: requests, retryAfterSeconds });
  }

  /** api_by_user: undefined when the request passes (and is counted), else the 429. */
  take(user: ZulipUserState): Reply | undefined {
    const forced = this.#forced.get(user.userId);
    if (forced && forced.left > 0) {
      forced.left--;
      return rateLimited(forced.retryAfterSeconds, this.headers(user, 0));
    }
    const wait = this.#window(`user:${user.userId}`, this.options.user);
    return wait === undefined ? undefined : rateLimited(wait, this.headers(user, 0));
  }

  takeIp(): Reply | undefined {
    const wait = this.#window('ip', this.options.ip);
    return wait === undefined ? undefined : rateLimited(wait);
  }

  headers(user: ZulipUserState, remaining?: number): Record<string, string> {
    const { requests, windowMs } = this.options.user;
    const now = this.options.now();
    const used = (this.#windows.get(`user:${user.userId}`) ?? []).filter((t) => t > now - windowMs).length;
    return {
      'X-RateLimit-Limit': String(requests),
      'X-RateLimit-Remaining': String(remaining ?? Math.max(0, requests - used)),
      'X-RateLimit-Reset': String(Math.ceil((now + windowMs) / 1000)),
    };
  }

  /** Seconds until a request would pass, or undefined when this one does (and is counted). */
  #window(key: string, rule: Rule): number | undefined {
    const now = this.options.now();
    const hits = (this.#windows.get(key) ?? []).filter((t) => t > now - rule.windowMs);
    this.#windows.set(key, hits);
    if (hits.length >= rule.requests) return Math.max(0.001, (hits[0]! + rule.windowMs - now) / 1000);
    hits.push(now);
    return undefined;
  }
}

/** zerver/lib/exceptions.py RateLimitedError: 429, RATE_LIMIT_HIT, `retry-after` in body and header. */
export function rateLimited(seconds: number, headers: Record<string, string> = {}): Reply {
  const rounded = Math.round(seconds * 1000) / 1000;
  return zulipError(
    429,
    'RATE_LIMIT_HIT',
    'API usage exceeded rate limit; see https://zulip.com/api/http-headers#rate-limiting-response-headers',
    { 'retry-after': rounded },
    { ...headers, 'Retry-After': String(rounded) },
  );
}
