// What Authgear's answers mean for the run (contract notes §1.2, §2.2, §3.6, §4). The generic part
// (5xx, 429, resets, timeouts) is src/net/errors.ts; this is the Authgear part: the plain-text
// 403 for a refused JWT, the `{"error":{name,reason,message}}` envelope of the REST routes, and
// GraphQL's HTTP-200-with-`errors`.
import { AvatarError, FatalError, RowError } from '../../errors.js';
import { DEFAULT_RETRY_AFTER_MS, snippet, type ErrorPolicy } from '../../net/errors.js';
import type { HttpRequest, HttpResponse } from '../../net/http.js';

export interface ApiErrorBody {
  readonly name?: string;
  readonly reason?: string;
  readonly message?: string;
  readonly info?: unknown;
}

/** The `error` of Authgear's JSON envelope, or nothing for a text or HTML body. */
export function apiError(response: HttpResponse): ApiErrorBody {
  const body = response.json() as { error?: unknown } | undefined;
  const error = typeof body === 'object' && body !== null ? body.error : undefined;
  if (typeof error !== 'object' || error === null) return {};
  const { name, reason, message, info } = error as Record<string, unknown>;
  return {
    ...(typeof name === 'string' ? { name } : {}),
    ...(typeof reason === 'string' ? { reason } : {}),
    ...(typeof message === 'string' ? { message } : {}),
    ...(info !== undefined ? { info } : {}),
  };
}

/** A JWT refused: Authgear answers every /_api/admin route with 403 text/plain `Forbidden` and
 * logs the reason only at debug level, so all we can do is list what to check. */
export function keyRefused(what: string, context: { endpoint: string; projectId: string; keyId: string }): FatalError {
  return new FatalError(
    'admin_key_refused',
    `${what}: ${context.endpoint} refused the Admin API token (HTTP 403 Forbidden), also after signing a new one. Check:\n` +
      `  - the key ID: --key-id ${context.keyId} must be the key ID shown in the portal (Advanced → Admin API) for this key, and the key must still be active there\n` +
      `  - the key file: --admin-key-file must be the private key downloaded for that key ID\n` +
      `  - the project ID: --project-id ${context.projectId} must be this project's ID (the token's audience)\n` +
      `  - the clock: this machine's time must be right to within a few minutes (the token is valid for 5 minutes from now)`,
  );
}

/**
 * @param random jitter for 429s that say nothing about when to come back (Authgear sends no
 *   Retry-After): the whole target pauses 50–100 % of the default, so that several importers
 *   (or workers of a restarted run) do not come back in step.
 */
export function authgearPolicy(random: () => number = Math.random): ErrorPolicy {
  return {
    retryAfterFromBody: () => Math.round(DEFAULT_RETRY_AFTER_MS * (0.5 + random() / 2)),
    refusal,
  };
}

function refusal(response: HttpResponse, request: HttpRequest): AvatarError {
  const { status } = response;
  const { name, reason, message = '' } = apiError(response);
  const what = request.what ?? `${request.method} ${request.path}`;
  const said = name ? `HTTP ${status} ${name}/${reason ?? name}: ${message}` : `HTTP ${status}${snippet(response.body)}`;
  if (status === 403) {
    return new FatalError('admin_key_refused', `${what}: the Admin API refused the token (${said}); check --key-id, --admin-key-file, --project-id and this machine's clock`);
  }
  if (status === 404 || status === 405 || status === 415) {
    return new FatalError('unsupported_server', `${what}: ${said}: is --endpoint the Authgear project's URL (the one serving /_api/admin)?`);
  }
  if (status === 413) return new RowError('upload_rejected', `${what}: too large for Authgear or a proxy in front of it (${said})`);
  if (status === 400 && message === 'asset too large') {
    return new RowError('upload_rejected', `${what}: Authgear refused the image as too large (${said}); it accepts 1 B to 10 MiB`);
  }
  return new RowError('target_error', `${what}: ${said}`);
}

/** Upload answers that mean "this URL is spent or stale: ask for a new one", never "send again
 * to the same URL": 409 DuplicatedImage (it was used) and ExpiredSignature (it waited too long,
 * e.g. behind a rate-limit pause). 'retry' makes the pacer run the whole presign+upload again. */
export function uploadUrlSpent(response: HttpResponse, what: string): AvatarError | undefined {
  const { name, reason, message = '' } = apiError(response);
  if ((response.status === 409 && reason === 'DuplicatedImage') || (response.status === 400 && reason === 'ExpiredSignature')) {
    return new AvatarError('retry', 'upload_url_spent', `${what}: HTTP ${response.status} ${name}/${reason}: ${message}; retrying with a new upload URL`);
  }
  return undefined;
}

export interface GraphQLError {
  readonly message: string;
  readonly errorName?: string;
  readonly reason?: string;
  readonly info?: unknown;
  /** The response path of a field error (`["u3"]` names alias u3); absent for document errors. */
  readonly path?: readonly (string | number)[];
}

/** The `errors` of a GraphQL answer (an HTTP 200 is not a success until this is empty). */
export function graphqlErrors(body: unknown): GraphQLError[] {
  const errors = typeof body === 'object' && body !== null ? (body as { errors?: unknown }).errors : undefined;
  if (!Array.isArray(errors)) return [];
  return errors.map((e: unknown) => {
    const entry = (typeof e === 'object' && e !== null ? e : {}) as Record<string, unknown>;
    const ext = (typeof entry.extensions === 'object' && entry.extensions !== null ? entry.extensions : {}) as Record<string, unknown>;
    return {
      message: typeof entry.message === 'string' ? entry.message : JSON.stringify(e),
      ...(typeof ext.errorName === 'string' ? { errorName: ext.errorName } : {}),
      ...(typeof ext.reason === 'string' ? { reason: ext.reason } : {}),
      ...(ext.info !== undefined ? { info: ext.info } : {}),
      ...(Array.isArray(entry.path) ? { path: entry.path as (string | number)[] } : {}),
    };
  });
}

/** A GraphQL error as a row error (contract notes §3.6's table). */
export function graphqlRowError(what: string, error: GraphQLError): AvatarError {
  const said = error.errorName ? `${error.errorName}/${error.reason ?? error.errorName}: ${error.message}${causes(error.info)}` : error.message;
  switch (error.reason) {
    case 'HookDisallowed':
      return new RowError('avatar_changes_disabled', `${what}: a blocking hook (user.profile.pre_update) refused the change: ${said}`);
    case 'UserNotFound':
      return new RowError('user_not_found', `${what}: ${said}`);
    case 'UserIsAnonymized':
    case 'UserIsDeactivated':
    case 'UserIsDisabled':
      return new RowError('user_deactivated', `${what}: ${said}; left untouched`);
    case 'GetUsersInvalidArgument':
      return new RowError('invalid_user_id', `${what}: Authgear cannot use this value for the lookup: ${said}`);
    case 'ValidationFailed':
      return new RowError('target_error', `${what}: Authgear refused the attributes as invalid: ${said}`);
    case 'RateLimited':
      return new AvatarError('retry-after', 'rate_limited', `${what}: ${said}`, { retryAfterMs: DEFAULT_RETRY_AFTER_MS });
    default:
      break;
  }
  if (error.errorName === 'Forbidden') return new RowError('avatar_changes_disabled', `${what}: Authgear refused the change: ${said}`);
  if (error.errorName === 'NotFound') return new RowError('user_not_found', `${what}: ${said}`);
  if (!error.errorName && error.message === 'unexpected error') {
    // What Authgear says when the attributes carry an email, phone number or username the user's
    // identities do not own, and for internal errors alike (§3.5).
    return new RowError('target_error', `${what}: Authgear answered "unexpected error" (an attribute the user's identities do not own, or a server-side failure)`);
  }
  return new RowError('target_error', `${what}: ${said}`);
}

/** ValidationFailed's `info.causes`, briefly: `/picture format: invalid scheme`. */
function causes(info: unknown): string {
  const list = (info as { causes?: unknown } | undefined)?.causes;
  if (!Array.isArray(list) || list.length === 0) return '';
  const parts = list.slice(0, 5).map((c: unknown) => {
    const cause = (c ?? {}) as { location?: unknown; kind?: unknown; details?: unknown };
    const details = cause.details === undefined ? '' : ` ${JSON.stringify(cause.details)}`;
    return `${String(cause.location ?? '')} ${String(cause.kind ?? '')}${details}`.trim();
  });
  return ` (${parts.join('; ')})`;
}
