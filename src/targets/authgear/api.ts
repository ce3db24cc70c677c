// The Authgear calls the target makes, typed. GraphQL and the presign go to /_api/admin with the
// minted JWT, through the target's endpoint (paced, classified); a 403 there gets one new token and
// one more try, then ends the run. The upload is different: a presigned URL works once, so the
// pacer runs "presign + POST" as one unit and every re-send (5xx, 429, a lost answer, a spent or
// expired URL) starts with a fresh URL. Nothing is ever POSTed twice to the same URL.
import { randomBytes } from 'node:crypto';
import { RowError, type AvatarError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Endpoint } from '../../net/endpoint.js';
import { classifyResponse, classifyTransport, maskedForMessages, type ErrorPolicy } from '../../net/errors.js';
import type { HttpClient, HttpRequest, HttpResponse } from '../../net/http.js';
import type { Pacer } from '../../net/pacer.js';
import { apiError, graphqlErrors, graphqlRowError, keyRefused, uploadUrlSpent } from './errors.js';
import { batchRequest, readBatchAnswer, type BatchAnswer } from './lookup-batch.js';
import type { MatchBy } from './options.js';
import type { AdminToken } from './token.js';
import { USER_FIELDS, toUser, type AuthgearUser } from './user.js';

export { inactive, type AuthgearUser } from './user.js';

export const GRAPHQL_PATH = '/_api/admin/graphql';
export const PRESIGN_PATH = '/_api/admin/images/upload';

const FIND = `query AvatarImportFindUsers($name: String!, $value: String!) {
  users: getUsersByStandardAttribute(attributeName: $name, attributeValue: $value) { ${USER_FIELDS} }
}`;
const READ = `query AvatarImportReadUser($id: ID!) {
  node(id: $id) { __typename ... on User { ${USER_FIELDS} } }
}`;
// Only standardAttributes: customAttributes are never sent (`{}` would wipe them all).
const UPDATE = `mutation AvatarImportSetPicture($userID: ID!, $standardAttributes: UserStandardAttributes!) {
  updateUser(input: { userID: $userID, standardAttributes: $standardAttributes }) { user { ${USER_FIELDS} } }
}`;
const PROBE = 'query AvatarImportProbe { __typename }';

export interface ApiDeps {
  /** /_api/admin calls, with the JWT as bearer. */
  readonly admin: Endpoint;
  /** Uploads to presigned URLs: no Authorization header (the images server only checks the signature). */
  readonly uploads: HttpClient;
  readonly pacer: Pacer;
  readonly policy: ErrorPolicy;
  readonly token: AdminToken;
  readonly log: Logger;
  readonly context: { endpoint: string; projectId: string; keyId: string };
}

export class AuthgearApi {
  constructor(private readonly deps: ApiDeps) {}

  /** The cheapest authenticated call: proves the endpoint, the key, the key id and the project. */
  async probe(): Promise<void> {
    const data = await this.#graphql('check the Admin API', PROBE, {}, { mutation: false });
    if (data.__typename !== 'Query') throw new RowError('target_error', 'check the Admin API: the answer is not from a GraphQL API');
  }

  /** Exact, immediately consistent lookup (§3.3): 0, 1 or several users. */
  async findUsers(name: MatchBy, value: string): Promise<AuthgearUser[]> {
    const what = `look up ${name} ${value}`;
    const data = await this.#graphql(what, FIND, { name, value }, { mutation: false });
    if (!Array.isArray(data.users)) throw new RowError('target_error', `${what}: the answer has no users list`);
    return data.users.map((u) => toUser(u, what));
  }

  /** Several lookups in one request (lookup-batch.ts): each value's users or error, or the
   * server's refusal of the document. Transport and HTTP failures are the whole batch's. */
  async findUsersBatch(name: MatchBy, values: readonly string[]): Promise<BatchAnswer> {
    const what = `look up ${values.length} users by ${name}`;
    const { query, variables } = batchRequest(name, values);
    // 400 and 413 answer the document (too many fields, too big), not one of the lookups.
    const res = await this.#post(what, query, variables, { mutation: false, expect: [400, 413] });
    if (res.status === 400 || res.status === 413) {
      const { name: errorName, reason, message } = apiError(res);
      return { refused: this.deps.log.redact(`HTTP ${res.status}${errorName ? ` ${errorName}/${reason ?? errorName}: ${message ?? ''}` : ''}`) };
    }
    const answer = readBatchAnswer(res.json(), values, (value) => `look up ${name} ${value}`);
    if ('outcomes' in answer) for (const outcome of answer.outcomes) if ('error' in outcome) this.#redacted(outcome.error);
    return answer;
  }

  /** The user by node ID; undefined when it no longer exists. */
  async user(id: string): Promise<AuthgearUser | undefined> {
    const what = `read user ${id}`;
    const data = await this.#graphql(what, READ, { id }, { mutation: false });
    if (data.node === null || data.node === undefined) return undefined;
    return toUser(data.node, what);
  }

  /** Replace the user's standard attributes (the whole object: see attributes.ts). Answers the
   * user as the server reads it back after the write. */
  async updateUser(id: string, standardAttributes: Record<string, unknown>, options: { idempotent: boolean }): Promise<AuthgearUser> {
    const what = `update user ${id}`;
    const data = await this.#graphql(what, UPDATE, { userID: id, standardAttributes }, { mutation: true, idempotent: options.idempotent });
    const payload = data.updateUser as { user?: unknown } | null | undefined;
    if (!payload?.user) throw new RowError('target_error', `${what}: the answer has no user`);
    return toUser(payload.user, what);
  }

  /** Presign and upload as one unit: `authgearimages:///<app>/<object>`. */
  upload(jpeg: Buffer, filename: string): Promise<string> {
    const { pacer } = this.deps;
    return pacer.call((signal) => this.#presignAndPost(jpeg, filename, signal), { idempotent: true, kind: 'upload', what: `upload ${filename}` });
  }

  async #presignAndPost(jpeg: Buffer, filename: string, signal: AbortSignal): Promise<string> {
    const { admin, uploads, token, pacer } = this.deps;
    // Fetched right before the upload: it lives 15 minutes and works once (§2.1).
    const presign: HttpRequest = { method: 'GET', path: PRESIGN_PATH, expect: [403], what: 'get an upload URL' };
    const used = await token.fresh();
    let res = await this.#once(admin.http, presign, signal);
    if (res.status === 403) {
      await token.renew(used);
      res = await this.#once(admin.http, presign, signal);
      if (res.status === 403) {
        const fatal = keyRefused(presign.what!, this.deps.context);
        pacer.stop(fatal);
        throw fatal;
      }
    }
    const url = (res.json() as { result?: { upload_url?: unknown } } | undefined)?.result?.upload_url;
    if (typeof url !== 'string' || !/^https?:\/\//.test(url)) {
      throw new RowError('target_error', 'get an upload URL: the answer has no http(s) result.upload_url');
    }

    const boundary = `avatar-import-${randomBytes(12).toString('hex')}`;
    const post: HttpRequest = {
      method: 'POST',
      // Used byte for byte as returned: the signature covers the path and every query parameter.
      path: url,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      body: multipart(boundary, jpeg, filename),
      expect: [400, 409],
      what: `upload ${filename}`,
    };
    const uploaded = await this.#once(uploads, post, signal);
    if (uploaded.status !== 200) {
      throw uploadUrlSpent(uploaded, post.what!) ?? this.#redacted(this.deps.policy.refusal(maskedForMessages(uploaded, this.deps.log.redact), post));
    }
    const stored = (uploaded.json() as { result?: { url?: unknown } } | undefined)?.result?.url;
    if (typeof stored !== 'string' || !/^authgearimages:\/\/\/[^/]+\/[^/]+/.test(stored)) {
      throw new RowError('target_error', `upload ${filename}: the answer has no authgearimages:/// result.url`);
    }
    return stored;
  }

  /** One request inside a pacer unit, classified exactly as the endpoint would. */
  async #once(http: HttpClient, request: HttpRequest, signal: AbortSignal): Promise<HttpResponse> {
    let response: HttpResponse;
    try {
      response = await http.request(request, signal);
    } catch (error) {
      const classified = classifyTransport(error, request);
      throw classified ? this.#redacted(classified) : error;
    }
    const refused = classifyResponse(maskedForMessages(response, this.deps.log.redact), request, this.deps.policy);
    if (refused) throw this.#redacted(refused);
    return response;
  }

  #redacted(error: AvatarError): AvatarError {
    error.message = this.deps.log.redact(error.message);
    return error;
  }

  /** A GraphQL call: a 403 gets one re-minted token, a 200 is only a success without `errors`. */
  async #graphql(
    what: string,
    query: string,
    variables: Record<string, unknown>,
    options: { mutation: boolean; idempotent?: boolean },
  ): Promise<Record<string, unknown>> {
    const body = (await this.#post(what, query, variables, options)).json();
    const errors = graphqlErrors(body);
    if (errors.length > 0) {
      const error = graphqlRowError(what, errors[0]!);
      if (errors.length > 1) error.message += ` (and ${errors.length - 1} more error${errors.length > 2 ? 's' : ''})`;
      throw this.#redacted(error);
    }
    const data = (body as { data?: unknown }).data;
    if (typeof data !== 'object' || data === null) throw new RowError('target_error', `${what}: the answer has no data`);
    return data as Record<string, unknown>;
  }

  /** POST a GraphQL document; a 403 gets one re-minted token. The answer is a GraphQL answer
   * (`data` or `errors`), or one of the `expect`ed statuses. */
  async #post(
    what: string,
    query: string,
    variables: Record<string, unknown>,
    options: { mutation: boolean; idempotent?: boolean; expect?: number[] },
  ): Promise<HttpResponse> {
    const { admin, token, pacer } = this.deps;
    const request: HttpRequest = {
      method: 'POST',
      path: GRAPHQL_PATH,
      json: { query, variables },
      expect: [403, ...(options.expect ?? [])],
      // Queries are reads sent as POST. A mutation's outcome after a lost answer is for the
      // caller to find out (read back), unless it says re-sending is harmless.
      idempotent: options.mutation ? (options.idempotent ?? false) : true,
      what,
    };
    const used = await token.fresh();
    let res = await admin.send(request);
    if (res.status === 403) {
      // An expired token (a long pause) or a refused key: one new token tells them apart. A 403
      // comes from the auth middleware, before anything ran, so sending again is safe.
      await token.renew(used);
      res = await admin.send(request);
      if (res.status === 403) {
        const fatal = keyRefused(what, this.deps.context);
        pacer.stop(fatal);
        throw fatal;
      }
    }
    if (options.expect?.includes(res.status)) return res;
    const body = res.json();
    if (typeof body !== 'object' || body === null || !('data' in body || 'errors' in body)) {
      throw new RowError('target_error', `${what}: HTTP ${res.status} but not a GraphQL answer`);
    }
    return res;
  }
}

/** One part named `file` with a filename (parts without one are not files to Authgear) and its
 * own Content-Type, which Authgear stores as the object's type (§2.2). A Buffer, so Content-Length
 * is set. */
export function multipart(boundary: string, jpeg: Buffer, filename: string): Buffer {
  const head =
    `--${boundary}\r\n` +
    `Content-Disposition: form-data; name="file"; filename="${filename.replace(/["\r\n\\]/g, '_')}"\r\n` +
    'Content-Type: image/jpeg\r\n\r\n';
  return Buffer.concat([Buffer.from(head), jpeg, Buffer.from(`\r\n--${boundary}--\r\n`)]);
}
