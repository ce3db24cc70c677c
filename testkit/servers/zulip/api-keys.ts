// zerver/decorator.py: authenticated_rest_api_view + access_user_by_api_key. A key must have the
// API-key format, exist, and be used with its owner's delivery email (case-insensitive), else 401
// UNAUTHORIZED with WWW-Authenticate; a browser-style Accept without auth gets a 302 to the login page.
import { randomBytes } from 'node:crypto';
import type { FakeRequest, Reply } from '../harness.js';
import { zulipError } from './replies.js';
import type { ZulipUserState } from './state.js';

const KEY_FORMAT = /^[a-zA-Z0-9]{32}$/;

export function newKey(): string {
  return randomBytes(24).toString('base64').replace(/[^a-zA-Z0-9]/g, 'x').slice(0, 32);
}

/** The email a Basic header authenticates with. */
export function basicEmail(header: string | undefined): string | undefined {
  if (!header?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(0, colon);
}

export function authenticate(request: FakeRequest, users: Iterable<ZulipUserState>, ignoreEmailInBasicAuth: boolean): { user: ZulipUserState } | { reply: Reply } {
  const header = request.headers.authorization;
  const unauthorized = (msg: string) => ({ reply: zulipError(401, 'UNAUTHORIZED', msg, {}, { 'WWW-Authenticate': 'Basic realm="zulip"' }) });
  if (!header) {
    const accept = request.headers.accept ?? '';
    if (accept.includes('text/html') && !accept.includes('application/json')) {
      return { reply: { status: 302, headers: { Location: `/login/?next=${encodeURIComponent(request.path)}` }, body: '' } };
    }
    return unauthorized('Not logged in: API authentication or user session required');
  }
  const [scheme, encoded] = header.split(' ');
  if (scheme?.toLowerCase() !== 'basic' || !encoded) return unauthorized('This endpoint requires HTTP basic authentication.');
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return unauthorized('Invalid authorization header for basic auth');
  const email = decoded.slice(0, colon);
  const key = decoded.slice(colon + 1);
  if (!KEY_FORMAT.test(key)) return unauthorized('Malformed API key');
  const user = [...users].find((u) => u.apiKey === key);
  if (!user) return unauthorized('Invalid API key');
  if (!ignoreEmailInBasicAuth && email.toLowerCase() !== user.email.toLowerCase()) return unauthorized('Invalid API key');
  if (!user.isActive) return unauthorized('Account is deactivated');
  return { user };
}
