// What Synapse's refusals mean for the run (contract notes §4.2 and §8). Everything generic
// (5xx, 429, resets, timeouts) is decided in src/net/errors.ts; this is only the Matrix part.
import { FatalError, RowError, type AvatarError } from '../../errors.js';
import { snippet, stringFields, type ErrorPolicy } from '../../net/errors.js';
import type { HttpRequest, HttpResponse } from '../../net/http.js';

export interface MatrixErrorBody {
  readonly errcode?: string;
  readonly error?: string;
}

/** `{errcode, error}` of a Synapse error, or nothing for a proxy's HTML page or an empty body. */
export function matrixError(response: HttpResponse): MatrixErrorBody {
  return stringFields(response, ['errcode', 'error']);
}

export const matrixPolicy: ErrorPolicy = {
  retryAfterFromBody(body) {
    const ms = (body as { retry_after_ms?: unknown } | undefined)?.retry_after_ms;
    return typeof ms === 'number' && ms >= 0 ? ms : undefined;
  },
  refusal: refusal,
};

function refusal(response: HttpResponse, request: HttpRequest): AvatarError {
  const { status } = response;
  const { errcode, error = '' } = matrixError(response);
  const what = request.what ?? `${request.method} ${request.path}`;
  const said = errcode ? `HTTP ${status} ${errcode}: ${error}` : `HTTP ${status}${snippet(response.body)}`;

  if (status === 401) {
    return new FatalError('token_refused', `${what}: the homeserver refused the access token (${said}); check MATRIX_ACCESS_TOKEN or --token-file`);
  }
  if (status === 403 && error === 'You are not a server admin') {
    return new FatalError('not_admin', `${what}: the access token does not belong to a server admin (${said})`);
  }
  if (status === 400 && errcode === 'M_FORBIDDEN' && error.startsWith('Cannot set another user')) {
    return new FatalError('not_admin', `${what}: the homeserver does not treat the token as a server admin (${said})`);
  }
  if (status === 403 && errcode === 'M_USER_SUSPENDED') {
    return new FatalError('admin_suspended', `${what}: the importing account is suspended (${said})`);
  }
  // The admin's media_upload_limits quota: every later upload would fail the same way until the
  // period passes, so stop (resumable) rather than fail the rest of the rows for good.
  if (errcode === 'M_RESOURCE_LIMIT_EXCEEDED') {
    return new FatalError('upload_quota_exhausted', `${what}: the importing account's media upload quota is used up (${said}); raise media_upload_limits or run again later`);
  }
  if ((status === 404 || status === 405) && errcode === 'M_UNRECOGNIZED') {
    return new FatalError('unsupported_server', `${what}: the homeserver does not know this endpoint (${said})`);
  }
  if (status === 413) return new RowError('upload_rejected', `${what}: too large for the homeserver or its proxy (${said})`);
  if (status === 415) return new RowError('upload_rejected', `${what}: the homeserver refused the upload's content type (${said})`);
  if (status === 403 && errcode === 'M_FORBIDDEN' && error.includes('avatar is not allowed')) {
    return new RowError('upload_rejected', `${what}: the homeserver does not allow this avatar (max_avatar_size / allowed_avatar_mimetypes) (${said})`);
  }
  if (status === 400 && errcode === 'M_UNKNOWN' && error === 'Bad content') {
    return new RowError('upload_rejected', `${what}: the homeserver's spam checker refused the image (${said})`);
  }
  return new RowError('target_error', `${what}: ${said}`);
}
