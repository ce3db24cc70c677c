// What Zulip's refusals mean for the run (contract notes §1, §4, §6, §7). Everything generic (5xx,
// 429, resets, timeouts) is decided in src/net/errors.ts; this is only the Zulip part. Messages
// are localised per user, so decisions are made on the HTTP status and `code`, never on `msg`:
// `msg` only goes into the human-readable error text.
import { FatalError, RowError, type AvatarError } from '../../errors.js';
import { snippet, stringFields, type ErrorPolicy } from '../../net/errors.js';
import type { HttpRequest, HttpResponse } from '../../net/http.js';

export interface ZulipErrorBody {
  readonly code?: string;
  readonly msg?: string;
}

/** `{code, msg}` of a Zulip error, or nothing for a proxy's HTML page or an empty body. */
export function zulipError(response: HttpResponse): ZulipErrorBody {
  return stringFields(response, ['code', 'msg']);
}

/** Zulip's 429 body carries `retry-after` in seconds, possibly fractional (0.5). */
function retryAfterFromBody(body: unknown): number | undefined {
  const seconds = (body as Record<string, unknown> | undefined)?.['retry-after'];
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0 ? Math.ceil(seconds * 1000) : undefined;
}

function said(response: HttpResponse): string {
  const { code, msg } = zulipError(response);
  return code || msg ? `HTTP ${response.status} ${code ?? '(no code)'}: ${msg ?? ''}` : `HTTP ${response.status}${snippet(response.body)}`;
}

const what = (request: HttpRequest): string => request.what ?? `${request.method} ${request.path}`;

/** Calls made with the administrator's key (discovery). A refused admin key ends the run. */
export const adminPolicy: ErrorPolicy = {
  retryAfterFromBody,
  refusal(response, request): AvatarError {
    if (response.status === 401) {
      return new FatalError('admin_key_refused', `${what(request)}: Zulip refused the administrator's API key (${said(response)}); check --admin-zuliprc or ZULIP_EMAIL/ZULIP_API_KEY`);
    }
    if (response.status === 302 || response.status === 404) {
      return new FatalError('unsupported_server', `${what(request)}: ${said(response)}: is --site the URL of a Zulip organisation?`);
    }
    return new RowError('target_error', `${what(request)}: ${said(response)}`);
  },
};

/** Calls made with one user's own key: a refused key fails that row only (§6: every 401 on this
 * path is UNAUTHORIZED, whatever the reason, so the target asks the admin view why). */
export const userPolicy: ErrorPolicy = {
  retryAfterFromBody,
  refusal(response, request): AvatarError {
    const { code } = zulipError(response);
    if (response.status === 401) {
      return new RowError('credentials_invalid', `${what(request)}: Zulip refused this user's API key (${said(response)})`);
    }
    if (response.status === 400 && code === 'BAD_IMAGE') {
      return new RowError('upload_rejected', `${what(request)}: Zulip could not use the image (${said(response)})`);
    }
    if (response.status === 400 && request.path === UPLOAD_PATH && request.method === 'DELETE') {
      // DELETE takes no parameters: its only refusal is the organisation's restriction (§2).
      return new RowError('avatar_changes_disabled', `${what(request)}: Zulip refused to remove the avatar (${said(response)})`);
    }
    if (response.status === 400 && request.path === UPLOAD_PATH) {
      // One file, within the size limit, is what the tool always sends, and restricted
      // organisations are found at start-up: a BAD_REQUEST here is the server's policy (the
      // restriction switched on mid-run, a lower limit) and will not change on a retry.
      return new RowError('upload_rejected', `${what(request)}: Zulip refused the upload (${said(response)})`);
    }
    return new RowError('target_error', `${what(request)}: ${said(response)}`);
  },
};

/** Unauthenticated calls (server_settings, jwt/fetch_api_key): one bucket per client IP. */
export const anonymousPolicy: ErrorPolicy = {
  retryAfterFromBody,
  refusal(response, request): AvatarError {
    const { code } = zulipError(response);
    if (request.path === JWT_FETCH_PATH) {
      // §4: a 400 is the organisation's JWT set-up ("not enabled", "Bad JSON web token"): every
      // row would fail the same way, so stop.
      if (response.status === 400) {
        return new FatalError('jwt_refused', `${what(request)}: Zulip refused the JSON web token (${said(response)}); check --jwt-key-file against JWT_AUTH_KEYS for this organisation`);
      }
      if (response.status === 401 && code === 'USER_DEACTIVATED') return new RowError('user_deactivated', `${what(request)}: the account is deactivated (${said(response)})`);
      if (response.status === 401 && code === 'REALM_DEACTIVATED') return new FatalError('realm_deactivated', `${what(request)}: ${said(response)}`);
      if (response.status === 401) return new RowError('credentials_invalid', `${what(request)}: Zulip would not issue a key for this email (${said(response)})`);
    }
    if (response.status === 404 || response.status === 302) {
      return new FatalError('unsupported_server', `${what(request)}: ${said(response)}: is --site the URL of a Zulip server?`);
    }
    return new RowError('target_error', `${what(request)}: ${said(response)}`);
  },
};

export const UPLOAD_PATH = '/api/v1/users/me/avatar';
export const JWT_FETCH_PATH = '/api/v1/jwt/fetch_api_key';
