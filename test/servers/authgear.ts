// An Authgear that answers like the real one (../shared/targets/authgear.md, read from
// authgear-server fa7a7d5). It is deliberately no kinder than the real server:
//   - every /_api/admin route checks the JWT (Bearer regex, kid, RS256 signature with the public
//     key, aud = project ID, exp/iat with 5 min skew) and answers 403 text/plain `Forbidden`;
//   - presigned upload URLs are HMAC-signed over method, path, query and Host, expire after 900 s
//     and work once (a second POST finds the object and answers 409 DuplicatedImage);
//   - the upload checks signature → content type → exactly one file part (only parts with a
//     filename count) named `file` → 1 B..10 MiB ("asset too large" is a 400) → duplicate;
//   - GraphQL is parsed and validated (unknown fields, missing variables, > 5 mutation fields is a
//     400), answers HTTP 200 with `errors[].extensions.errorName/reason`, and rolls a request's
//     mutations back when any error appears;
//   - updateUser REPLACES standardAttributes: derived keys are stripped, identity-aware keys are
//     re-populated from identities, every other omitted key is deleted, additionalProperties is
//     false, picture must be x_picture; customAttributes are untouched when omitted and wiped by {};
//   - standardAttributes read back with the derived keys and picture in its https form.
// The fake has no TLS: the picture's read form says https (as behind Authgear's TLS ingress), while
// upload URLs carry the scheme the request came in with, as the real presign does, so they work.
import { createHmac, createPublicKey, generateKeyPairSync, randomBytes, randomUUID, verify as verifySignature, type KeyObject } from 'node:crypto';
import { posix } from 'node:path';
import { FakeServer, type FakeRequest, type Faults, type Reply, type Route } from './harness.js';

export interface AuthgearOptions {
  /** The project (app) ID: the JWT audience and the images' app segment. */
  readonly projectId?: string;
  /** Wall clock in epoch ms for JWT times and URL expiry (a fake clock in tests). */
  readonly now?: () => number;
  /** jwx's acceptable skew (5 min on the real server). */
  readonly skewSeconds?: number;
  /** `MaxContentLength` (10 MiB). */
  readonly maxUploadBytes?: number;
  /** IMAGES_CDN_HOST: the host the picture reads back with. Default: the request's host. */
  readonly imagesCdnHost?: string;
}

export interface Identity {
  readonly kind: 'login_id' | 'oauth';
  readonly email?: string;
  readonly phone_number?: string;
  readonly preferred_username?: string;
  readonly verified?: boolean;
}

export interface FakeUser {
  readonly uuid: string;
  /** Storage form: no derived keys, picture as stored (authgearimages:/// or a URL). */
  standard: Record<string, unknown>;
  custom: Record<string, unknown>;
  identities: Identity[];
  disabled: boolean;
  deactivated: boolean;
  anonymized: boolean;
  readonly createdAt: number;
  updatedAt: number;
}

export interface StoredImage {
  readonly objectId: string;
  readonly bytes: Buffer;
  readonly contentType: string;
  readonly filename: string;
  readonly metadata: unknown;
}

export interface SeenToken {
  readonly token: string;
  readonly header: Record<string, unknown>;
  readonly claims: Record<string, unknown>;
}

/** What a blocking hook does to user.profile.pre_update. */
export interface Hook {
  /** Refuse every profile update (Forbidden/HookDisallowed). */
  readonly reject?: boolean;
  /** A server that does not keep what it was sent: alters the attributes before storing them. */
  readonly alter?: (attributes: Record<string, unknown>) => Record<string, unknown>;
}

export interface GraphQLRecord {
  readonly body: string;
  readonly operationType?: 'query' | 'mutation';
  /** Top-level fields of the executed operation. */
  readonly fields: string[];
}

export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
const PRESIGN_EXPIRES_SECONDS = 900;
const DERIVED = ['email_verified', 'phone_number_verified', 'updated_at'];
const IDENTITY_AWARE = ['email', 'phone_number', 'preferred_username'] as const;
const STRING_ATTRIBUTES = [
  'email', 'phone_number', 'preferred_username', 'family_name', 'given_name', 'middle_name', 'name', 'nickname',
  'picture', 'profile', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale',
];
const ADDRESS_KEYS = ['formatted', 'street_address', 'locality', 'region', 'postal_code', 'country'];

const json = (status: number, body: unknown): Reply => ({ status, json: body });
const apiError = (status: number, name: string, reason: string, message: string, info?: unknown): Reply =>
  json(status, { error: { name, reason, message, code: status, ...(info === undefined ? {} : { info }) } });
const forbidden = (): Reply => ({ status: 403, headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' }, body: 'Forbidden\n' });

let sharedKey: { privateKeyPem: string } | undefined;

export const nodeId = (uuid: string): string => Buffer.from(`User:${uuid}`).toString('base64url');

export class FakeAuthgear {
  readonly projectId: string;
  /** The key the portal would hand out: `<keyId>.pem`, PKCS#8. */
  readonly keyId: string;
  readonly privateKeyPem: string;
  readonly users = new Map<string, FakeUser>();
  readonly images = new Map<string, StoredImage>();
  /** Every token that passed, in order of requests. */
  readonly tokens: SeenToken[] = [];
  /** Upload URLs issued, in order. */
  readonly presigned: string[] = [];
  /** Every GraphQL request body, in order. */
  readonly graphql: GraphQLRecord[] = [];
  /** The `input` of every updateUser that was executed (also those rolled back). */
  readonly updates: Record<string, unknown>[] = [];
  hook: Hook = {};
  server!: FakeServer;
  readonly #keys = new Map<string, KeyObject>();
  readonly #imagesSecret = randomBytes(32);
  readonly #opts: Required<Omit<AuthgearOptions, 'imagesCdnHost'>> & Pick<AuthgearOptions, 'imagesCdnHost'>;

  private constructor(options: AuthgearOptions) {
    this.#opts = { projectId: 'myapp', now: Date.now, skewSeconds: 300, maxUploadBytes: MAX_UPLOAD_BYTES, ...options };
    this.projectId = this.#opts.projectId;
    // RSA-2048 generation costs a few hundred ms: the fakes of one test process share a key pair
    // (each under its own key id); generateKey() makes a fresh one for "a key it does not know".
    const key = (sharedKey ??= FakeAuthgear.generateKey());
    this.keyId = randomUUID();
    this.privateKeyPem = key.privateKeyPem;
    this.#keys.set(this.keyId, createPublicKey(key.privateKeyPem));
  }

  static async start(options: AuthgearOptions = {}): Promise<FakeAuthgear> {
    const fake = new FakeAuthgear(options);
    fake.server = await FakeServer.start({
      routes: fake.#routes(),
      unrouted: (_request, methodAllowed) =>
        methodAllowed ? { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: '404 page not found\n' } : { status: 405, body: '' },
      // No Retry-After anywhere in Authgear (§4).
      rateLimited: () => apiError(429, 'TooManyRequest', 'RateLimited', 'request rate limited', { bucket_name: 'AdminAPI' }),
      serverError: () => apiError(500, 'InternalError', 'UnexpectedError', 'unexpected error'),
    });
    return fake;
  }

  /** A PKCS#8 RSA-2048 key as the portal generates it. */
  static generateKey(): { privateKeyPem: string } {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    return { privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
  }

  get url(): string {
    return this.server.url;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  setFaults(faults: Faults): void {
    this.server.setFaults(faults);
  }

  // --- state for tests ---------------------------------------------------------------------

  /** Another active Admin API key (rotation). Returns its id and PEM. */
  addKey(): { keyId: string; privateKeyPem: string } {
    const { privateKeyPem } = FakeAuthgear.generateKey();
    const keyId = randomUUID();
    this.#keys.set(keyId, createPublicKey(privateKeyPem));
    return { keyId, privateKeyPem };
  }

  /** The key is deleted in the portal: tokens it signed are refused from now on. */
  revokeKey(keyId: string): void {
    this.#keys.delete(keyId);
  }

  /** Register a user; identity claims become the identity-aware attributes. Returns the node ID. */
  addUser(init: {
    email?: string;
    phone_number?: string;
    preferred_username?: string;
    /** More identities (account linking, OAuth). */
    identities?: Identity[];
    /** Other standard attributes, storage form. */
    standard?: Record<string, unknown>;
    custom?: Record<string, unknown>;
    disabled?: boolean;
    deactivated?: boolean;
    anonymized?: boolean;
  }): string {
    const uuid = randomUUID();
    const identities: Identity[] = [...(init.identities ?? [])];
    for (const key of IDENTITY_AWARE) {
      if (init[key] !== undefined) identities.unshift({ kind: 'login_id', [key]: init[key], verified: true });
    }
    const now = this.#opts.now();
    const user: FakeUser = {
      uuid,
      standard: { ...(init.standard ?? {}) },
      custom: { ...(init.custom ?? {}) },
      identities,
      disabled: init.disabled ?? false,
      deactivated: init.deactivated ?? false,
      anonymized: init.anonymized ?? false,
      createdAt: now,
      updatedAt: now,
    };
    populateIdentityAware(user.standard, identities);
    this.users.set(uuid, user);
    return nodeId(uuid);
  }

  user(id: string): FakeUser {
    const uuid = decodeNodeId(id);
    const user = uuid === undefined ? undefined : this.users.get(uuid);
    if (!user) throw new Error(`fake authgear: no user ${id}`);
    return user;
  }

  /** What the Admin API shows as standardAttributes, read through this server's own host. */
  readAttributes(id: string): Record<string, unknown> {
    return this.#readForm(this.user(id), new URL(this.url).host);
  }

  /** What a user (or the portal) does: change one attribute; undefined deletes it. */
  setAttribute(id: string, key: string, value: unknown): void {
    const user = this.user(id);
    if (value === undefined) delete user.standard[key];
    else user.standard[key] = value;
    user.updatedAt = Math.max(this.#opts.now(), user.updatedAt + 1);
  }

  /** Top-level GraphQL fields executed so far (`getUsersByStandardAttribute`, `updateUser` …). */
  count(field: string): number {
    return this.graphql.reduce((n, r) => n + r.fields.filter((f) => f === field).length, 0);
  }

  // --- routes ------------------------------------------------------------------------------

  #routes(): Route[] {
    return [
      { name: 'presign', method: 'GET', path: /^\/_api\/admin\/images\/upload$/, handle: (q) => this.#authorized(q) ?? this.#presign(q) },
      { name: 'presign', method: 'POST', path: /^\/_api\/admin\/images\/upload$/, handle: (q) => this.#authorized(q) ?? this.#presign(q) },
      { name: 'graphql', method: 'POST', path: /^\/_api\/admin\/graphql$/, handle: (q) => this.#authorized(q) ?? this.#graphql(q) },
      { name: 'image_upload', method: 'POST', path: /^\/_images\/([^/]+)\/([^/]+)$/, handle: (q, [app, obj]) => this.#upload(q, app!, obj!) },
      { name: 'image_get', method: 'GET', path: /^\/_images\/([^/]+)\/([^/]+)\/([^/]+)$/, handle: (_q, [app, obj, options]) => this.#serveImage(app!, obj!, options!) },
    ];
  }

  /** undefined when the JWT passes (pkg/lib/admin/authz/middleware.go), else the 403. */
  #authorized(request: FakeRequest): Reply | undefined {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer (.*)$/.exec(header) : null;
    if (!match) return forbidden();
    const token = match[1]!;
    const parts = token.split('.');
    if (parts.length !== 3) return forbidden();
    let head: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      head = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      return forbidden();
    }
    if (typeof head !== 'object' || head === null || typeof claims !== 'object' || claims === null) return forbidden();
    // jwx with a key set: the kid must name one of the keys, the alg must be the key's (RS256).
    const key = typeof head.kid === 'string' ? this.#keys.get(head.kid) : undefined;
    if (!key || head.alg !== 'RS256') return forbidden();
    if (!verifySignature('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), key, Buffer.from(parts[2]!, 'base64url'))) return forbidden();
    const aud = claims.aud;
    if (!(aud === this.projectId || (Array.isArray(aud) && aud.includes(this.projectId)))) return forbidden();
    // The real server checks exp and iat only when present; a token without them is refused here,
    // since the importer must always send both.
    const now = this.#opts.now() / 1000;
    const skew = this.#opts.skewSeconds;
    if (typeof claims.exp !== 'number' || now > claims.exp + skew) return forbidden();
    if (typeof claims.iat !== 'number' || claims.iat > now + skew) return forbidden();
    this.tokens.push({ token, header: head, claims });
    return undefined;
  }

  // --- images ------------------------------------------------------------------------------

  /** pkg/admin/transport/presign_images_upload.go + pkg/util/httpsigning. */
  #presign(request: FakeRequest): Reply {
    const host = String(request.headers.host);
    const path = `/_images/${this.projectId}/${randomUUID()}`;
    const query = new URLSearchParams({
      'x-authgear-metadata': Buffer.from(JSON.stringify({ uploaded_by: 'admin_api' })).toString('base64url'),
      'x-authgear-algorithm': 'HMAC-SHA256',
      'x-authgear-date': new Date(this.#opts.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      'x-authgear-expires': String(PRESIGN_EXPIRES_SECONDS),
      'x-authgear-signedheaders': 'host',
    });
    query.set('x-authgear-signature', this.#sign('POST', path, query, host));
    const url = `http://${host}${path}?${query.toString()}`;
    this.presigned.push(url);
    return json(200, { result: { upload_url: url } });
  }

  #sign(method: string, path: string, query: URLSearchParams, host: string): string {
    const params = [...query.entries()].filter(([k]) => k !== 'x-authgear-signature').sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const canonical = [method, path, params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'), `host:${host}`].join('\n');
    return createHmac('sha256', this.#imagesSecret).update(canonical).digest('hex');
  }

  /** pkg/images/handler/post.go, checks in the real order. */
  #upload(request: FakeRequest, app: string, objectId: string): Reply {
    const q = request.query;
    const invalid = (reason: string, message: string, info?: unknown) => apiError(400, 'Invalid', reason, message, info);
    const needed = ['x-authgear-algorithm', 'x-authgear-date', 'x-authgear-expires', 'x-authgear-signedheaders', 'x-authgear-signature'];
    const date = Date.parse(q.get('x-authgear-date') ?? '');
    const expires = Number(q.get('x-authgear-expires'));
    if (needed.some((k) => !q.get(k)) || q.get('x-authgear-algorithm') !== 'HMAC-SHA256' || Number.isNaN(date) || !Number.isInteger(expires)) {
      return invalid('InvalidSignatureQueryParam', 'invalid signature query param');
    }
    const expected = this.#sign(request.method, request.path, q, String(request.headers.host));
    if (q.get('x-authgear-signature') !== expected) return invalid('InvalidSignature', 'invalid signature', { canonical_request: '…' });
    if (this.#opts.now() > date + expires * 1000) return invalid('ExpiredSignature', 'expired signature');

    const type = String(request.headers['content-type'] ?? '');
    if (!/^multipart\/form-data\s*(;|$)/i.test(type)) return invalid('Invalid', 'invalid content-type');
    const boundary = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(type);
    if (!boundary) return invalid('Invalid', 'invalid boundary');
    const parts = parseMultipart(request.body, boundary[1] ?? boundary[2]!);
    if (!parts) return invalid('Invalid', 'failed to read request body');
    const files = parts.filter((p) => p.filename !== undefined);
    if (files.length !== 1) return invalid('Invalid', 'expected exactly 1 file part');
    const file = files[0]!;
    if (file.name !== 'file') return invalid('Invalid', 'invalid file field');
    if (file.content.length < 1 || file.content.length > this.#opts.maxUploadBytes) {
      return apiError(400, 'BadRequest', 'BadRequest', 'asset too large');
    }
    if (this.images.has(objectId)) return apiError(409, 'AlreadyExists', 'DuplicatedImage', 'duplicated image');
    const metadata = JSON.parse(Buffer.from(q.get('x-authgear-metadata') ?? '', 'base64url').toString('utf8') || 'null') as unknown;
    this.images.set(objectId, { objectId, bytes: file.content, contentType: file.contentType ?? 'application/octet-stream', filename: file.filename!, metadata });
    return json(200, { result: { url: `authgearimages:///${app}/${objectId}` } });
  }

  #serveImage(app: string, objectId: string, options: string): Reply {
    const image = app === this.projectId ? this.images.get(objectId) : undefined;
    if (!image || (options !== 'profile' && options !== 'original')) return { status: 404, body: '' };
    return { status: 200, headers: { 'content-type': image.contentType, 'cache-control': 'public, immutable, max-age=900' }, body: image.bytes };
  }

  // --- GraphQL -----------------------------------------------------------------------------

  #graphql(request: FakeRequest): Reply {
    const type = String(request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json' && type !== 'application/graphql') {
      return { status: 415, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'Unsupported Media Type\n' };
    }
    const text = request.body.toString('utf8');
    let params: { query?: unknown; variables?: unknown; operationName?: unknown };
    try {
      params = type === 'application/graphql' ? { query: text } : (JSON.parse(text) as typeof params);
    } catch {
      return apiError(400, 'BadRequest', 'BadRequest', 'invalid JSON body');
    }
    const host = String(request.headers.host);
    const record: { body: string; operationType?: 'query' | 'mutation'; fields: string[] } = { body: text, fields: [] };
    this.graphql.push(record);

    let doc: Operation[];
    try {
      doc = parseDocument(String(params.query ?? ''));
    } catch (error) {
      return json(200, { data: null, errors: [{ message: (error as Error).message, locations: [] }] });
    }
    const name = typeof params.operationName === 'string' ? params.operationName : undefined;
    const operation = name ? doc.find((o) => o.name === name) : doc.length === 1 ? doc[0] : undefined;
    if (!operation) return json(200, { data: null, errors: [{ message: name ? `Unknown operation named "${name}".` : 'Must provide operation name if query contains multiple operations.' }] });
    record.operationType = operation.type;
    // pkg/util/graphqlutil/handler.go, validateMutationFieldCount: before execution, not GraphQL-shaped.
    if (operation.type === 'mutation' && operation.selections.length > 5) {
      return apiError(400, 'BadRequest', 'BadRequest', `too many mutation fields in one request: got ${operation.selections.length}, limit is 5`);
    }
    const validation = validate(operation);
    if (validation.length > 0) return json(200, { errors: validation.map((message) => ({ message, locations: [] })) });
    const variables = (typeof params.variables === 'object' && params.variables !== null ? params.variables : {}) as Record<string, unknown>;
    const missing = operation.variables.filter((v) => v.type.endsWith('!') && v.defaultValue === undefined && (variables[v.name] === undefined || variables[v.name] === null));
    if (missing.length > 0) {
      return json(200, { errors: missing.map((v) => ({ message: `Variable "$${v.name}" of required type "${v.type}" was not provided.`, locations: [] })) });
    }

    // The whole request is one transaction: any error rolls every mutation back (doRollback).
    const snapshot = operation.type === 'mutation' ? this.#snapshot() : undefined;
    const data: Record<string, unknown> = {};
    const errors: unknown[] = [];
    let nullData = false;
    for (const field of operation.selections as Field[]) {
      record.fields.push(field.name);
      const key = field.alias ?? field.name;
      try {
        const args = resolveArguments(field.args, variables);
        data[key] = this.#resolveTop(operation.type, field, args, host);
      } catch (error) {
        if (!(error instanceof FieldError)) throw error;
        errors.push({ message: error.message, locations: [], path: [key], ...(error.extensions ? { extensions: error.extensions } : {}) });
        if (NON_NULL_TOP.has(field.name)) nullData = true;
        else data[key] = null;
      }
    }
    if (errors.length > 0 && snapshot) this.#restore(snapshot);
    return json(200, errors.length > 0 ? { data: nullData ? null : data, errors } : { data });
  }

  #resolveTop(type: 'query' | 'mutation', field: Field, args: Record<string, unknown>, host: string): unknown {
    const complete = (value: unknown, typeName: string) => completeObject(value, typeName, field.selections);
    if (field.name === '__typename') return type === 'query' ? 'Query' : 'Mutation';
    if (type === 'query' && field.name === 'node') {
      const uuid = typeof args.id === 'string' ? decodeNodeId(args.id) : undefined;
      const user = uuid === undefined ? undefined : this.users.get(uuid);
      return user ? complete(this.#userObject(user, host), 'User') : null;
    }
    if (type === 'query' && field.name === 'getUsersByStandardAttribute') {
      const users = this.#getUsersByStandardAttribute(String(args.attributeName), String(args.attributeValue));
      return users.map((u) => complete(this.#userObject(u, host), 'User'));
    }
    if (type === 'mutation' && field.name === 'updateUser') {
      const user = this.#updateUser(args.input, host);
      return complete({ __typename: 'UpdateUserPayload', user: this.#userObject(user, host) }, 'UpdateUserPayload');
    }
    throw new Error(`fake authgear: no resolver for ${type}.${field.name}`);
  }

  /** pkg/lib/facade/coordinator.go GetUsersByStandardAttribute: normalised, matched against
   * identity claims (login ID and OAuth), 0..n users. */
  #getUsersByStandardAttribute(name: string, value: string): FakeUser[] {
    if (!(IDENTITY_AWARE as readonly string[]).includes(name)) {
      throw new FieldError('attributeName must be email, phone_number or preferred_name', 'Invalid', 'GetUsersInvalidArgument');
    }
    const normalised = normalise(name as (typeof IDENTITY_AWARE)[number], value);
    if (normalised === undefined) throw new FieldError('invalid attributeValue', 'Invalid', 'GetUsersInvalidArgument');
    return [...this.users.values()].filter((u) =>
      u.identities.some((i) => {
        const claim = i[name as (typeof IDENTITY_AWARE)[number]];
        return claim !== undefined && normalise(name as (typeof IDENTITY_AWARE)[number], claim) === normalised;
      }),
    );
  }

  /** pkg/admin/graphql/user_mutation.go → facade → stdattrs service → user store. */
  #updateUser(input: unknown, host: string): FakeUser {
    if (typeof input !== 'object' || input === null) throw new FieldError('invalid input', 'Invalid', 'Invalid');
    this.updates.push(input as Record<string, unknown>);
    const { userID, standardAttributes, customAttributes } = input as Record<string, unknown>;
    const uuid = typeof userID === 'string' ? decodeNodeId(userID) : undefined;
    if (uuid === undefined) throw new FieldError('invalid user ID', 'Invalid', 'Invalid');
    const user = this.users.get(uuid);
    if (!user) throw new FieldError('user not found', 'NotFound', 'UserNotFound');
    if (user.anonymized) throw new FieldError('user is anonymized', 'Invalid', 'UserIsAnonymized');

    let standard: Record<string, unknown> | undefined;
    if (standardAttributes !== undefined && standardAttributes !== null) {
      if (typeof standardAttributes !== 'object' || Array.isArray(standardAttributes)) {
        throw new FieldError('invalid value', 'Invalid', 'ValidationFailed', { causes: [{ location: '', kind: 'type', details: { actual: ['array'], expected: ['object'] } }] });
      }
      // WithDerivedAttributesRemoved, then the JSON schema (additionalProperties: false).
      const attrs: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(standardAttributes)) if (!DERIVED.includes(k)) attrs[k] = v;
      const causes = validateStandardAttributes(attrs);
      if (causes.length > 0) throw new FieldError('invalid value', 'Invalid', 'ValidationFailed', { causes });
      // An identity-aware value the user's identities do not own is a plain Go error.
      for (const key of IDENTITY_AWARE) {
        if (attrs[key] !== undefined && !user.identities.some((i) => i[key] !== undefined && normalise(key, i[key]!) === normalise(key, String(attrs[key])))) {
          throw new FieldError('unexpected error');
        }
      }
      populateIdentityAware(attrs, user.identities);
      if (typeof attrs.picture === 'string') attrs.picture = this.#storageForm(attrs.picture, host);
      standard = attrs;
    }
    let custom: Record<string, unknown> | undefined;
    if (customAttributes !== undefined && customAttributes !== null) {
      if (typeof customAttributes !== 'object' || Array.isArray(customAttributes)) throw new FieldError('invalid value', 'Invalid', 'ValidationFailed');
      custom = { ...(customAttributes as Record<string, unknown>) };
    }
    // The blocking hook user.profile.pre_update.
    if (this.hook.reject) {
      throw new FieldError('disallowed by web-hook event handler', 'Forbidden', 'HookDisallowed', { reasons: [{ title: 'profile locked', reason: 'changes are made in the HR system' }] });
    }
    if (standard) user.standard = this.hook.alter ? this.hook.alter({ ...standard }) : standard;
    if (custom) user.custom = custom; // {} wipes them all (UpdateAllCustomAttributes)
    user.updatedAt = Math.max(this.#opts.now(), user.updatedAt + 1);
    return user;
  }

  #userObject(user: FakeUser, host: string): Record<string, unknown> {
    return {
      __typename: 'User',
      id: nodeId(user.uuid),
      isDisabled: user.disabled,
      isDeactivated: user.deactivated,
      isAnonymized: user.anonymized,
      createdAt: new Date(user.createdAt).toISOString(),
      updatedAt: new Date(user.updatedAt).toISOString(),
      standardAttributes: this.#readForm(user, host),
      customAttributes: { ...user.custom },
    };
  }

  /** Stored attributes + derived keys + picture in its representation form (§2.3, §3.4). */
  #readForm(user: FakeUser, host: string): Record<string, unknown> {
    const out: Record<string, unknown> = structuredClone(user.standard);
    if (typeof out.picture === 'string') {
      const m = /^authgearimages:\/\/\/([^/]+)\/([^/]+)$/.exec(out.picture);
      if (m) out.picture = `https://${this.#opts.imagesCdnHost ?? host}/_images/${m[1]}/${m[2]}/profile`;
    }
    if (out.email !== undefined) out.email_verified = user.identities.some((i) => i.email === out.email && i.verified === true);
    if (out.phone_number !== undefined) out.phone_number_verified = user.identities.some((i) => i.phone_number === out.phone_number && i.verified === true);
    out.updated_at = Math.floor(user.updatedAt / 1000);
    return out;
  }

  /** RepresentationFormToStorageForm: our own https form goes back to authgearimages:///. */
  #storageForm(picture: string, host: string): string {
    let url: URL;
    try {
      url = new URL(picture);
    } catch {
      return picture;
    }
    const m = /\/_images\/([^/]+)\/([^/]+)/.exec(url.pathname);
    const ours = url.host === host || (this.#opts.imagesCdnHost !== undefined && url.host === this.#opts.imagesCdnHost);
    return (url.protocol === 'https:' || url.protocol === 'http:') && ours && m ? `authgearimages:///${m[1]}/${m[2]}` : picture;
  }

  #snapshot(): Map<string, FakeUser> {
    return new Map([...this.users].map(([k, u]) => [k, structuredClone(u)]));
  }

  #restore(snapshot: Map<string, FakeUser>): void {
    this.users.clear();
    for (const [k, u] of snapshot) this.users.set(k, u);
  }
}

// --- helpers -------------------------------------------------------------------------------

const NON_NULL_TOP = new Set(['getUsersByStandardAttribute', 'updateUser']);

class FieldError extends Error {
  readonly extensions?: Record<string, unknown>;
  constructor(message: string, errorName?: string, reason?: string, info?: unknown) {
    super(message);
    if (errorName) this.extensions = { errorName, reason: reason ?? errorName, ...(info === undefined ? {} : { info }) };
  }
}

/** base64url without padding of `User:<uuid>`; anything else is not a user node ID. */
export function decodeNodeId(id: string): string | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(id)) return undefined;
  const m = /^User:([0-9a-f-]{36})$/.exec(Buffer.from(id, 'base64url').toString('utf8'));
  return m?.[1];
}

function normalise(name: (typeof IDENTITY_AWARE)[number], value: string): string | undefined {
  if (name === 'email') return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value) ? value.toLowerCase() : undefined;
  if (name === 'phone_number') return /^\+[1-9]\d{6,14}$/.test(value) ? value : undefined;
  return /^\S+$/.test(value) ? value.toLowerCase() : undefined;
}

/** PopulateIdentityAwareStandardAttributes: omitted identity-aware keys come from identities. */
function populateIdentityAware(attrs: Record<string, unknown>, identities: readonly Identity[]): void {
  for (const key of IDENTITY_AWARE) {
    if (attrs[key] !== undefined) continue;
    const owner = identities.find((i) => i[key] !== undefined);
    if (owner) attrs[key] = owner[key];
  }
}

/** pkg/lib/authn/stdattrs/validate.go, the parts that matter here. */
function validateStandardAttributes(attrs: Record<string, unknown>): unknown[] {
  const causes: unknown[] = [];
  for (const [key, value] of Object.entries(attrs)) {
    const location = `/${key}`;
    if (key === 'address') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        causes.push({ location, kind: 'type', details: { expected: ['object'] } });
        continue;
      }
      for (const [k, v] of Object.entries(value)) {
        if (!ADDRESS_KEYS.includes(k)) causes.push({ location: `${location}/${k}`, kind: 'additionalProperties', details: { property: k } });
        else if (typeof v !== 'string') causes.push({ location: `${location}/${k}`, kind: 'type', details: { expected: ['string'] } });
      }
      continue;
    }
    if (!STRING_ATTRIBUTES.includes(key)) {
      causes.push({ location: '', kind: 'additionalProperties', details: { property: key } });
      continue;
    }
    if (typeof value !== 'string') {
      causes.push({ location, kind: 'type', details: { expected: ['string'] } });
      continue;
    }
    if (key === 'picture') {
      const error = pictureFormatError(value);
      if (error) causes.push({ location, kind: 'format', details: { format: 'x_picture', error } });
    }
  }
  return causes;
}

/** pkg/util/validation/formats.go FormatPicture. */
function pictureFormatError(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'invalid URL';
  }
  const clean = (path: string) => path.startsWith('/') && posix.normalize(path) === path && !path.includes('//');
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    if (!url.host) return 'input URL must be absolute';
    // new URL() resolves dot segments itself: look at the raw text for them.
    const rawPath = /^[a-z]+:\/\/[^/?#]*([^?#]*)/i.exec(value)?.[1] ?? '';
    if (!clean(rawPath || '/') || /\/\.\.?(\/|$)/.test(rawPath)) return 'input URL must be normalized';
    return undefined;
  }
  if (url.protocol === 'authgearimages:') {
    if (!value.startsWith('authgearimages:///')) return 'input URL must not have host';
    const rawPath = value.slice('authgearimages://'.length).split(/[?#]/)[0]!;
    if (!clean(rawPath) || /\/\.\.?(\/|$)/.test(rawPath)) return 'input URL must be normalized';
    return undefined;
  }
  return `invalid scheme: ${url.protocol.replace(/:$/, '')}`;
}

interface MultipartPart {
  readonly name?: string;
  readonly filename?: string;
  readonly contentType?: string;
  readonly content: Buffer;
}

/** RFC 7578, as Go's mime/multipart reads it; undefined when the body is not well formed. */
function parseMultipart(body: Buffer, boundary: string): MultipartPart[] | undefined {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: MultipartPart[] = [];
  let at = body.indexOf(delimiter);
  if (at < 0) return undefined;
  for (;;) {
    at += delimiter.length;
    if (body.subarray(at, at + 2).toString() === '--') return parts;
    if (body.subarray(at, at + 2).toString() !== '\r\n') return undefined;
    at += 2;
    const headerEnd = body.indexOf('\r\n\r\n', at);
    if (headerEnd < 0) return undefined;
    const headers = new Map<string, string>();
    for (const line of body.subarray(at, headerEnd).toString('utf8').split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd + 4);
    if (next < 0) return undefined;
    const disposition = headers.get('content-disposition') ?? '';
    const param = (key: string) => new RegExp(`;\\s*${key}="([^"]*)"`, 'i').exec(disposition)?.[1];
    const name = param('name');
    const filename = param('filename');
    const contentType = headers.get('content-type');
    parts.push({
      ...(name !== undefined ? { name } : {}),
      ...(filename !== undefined && filename !== '' ? { filename } : {}),
      ...(contentType ? { contentType } : {}),
      content: Buffer.from(body.subarray(headerEnd + 4, next)),
    });
    at = next + 2;
  }
}

// --- a small GraphQL: parser, validation against the subset of the schema, completion ------

type Value =
  | { kind: 'var'; name: string }
  | { kind: 'const'; value: unknown }
  | { kind: 'list'; items: Value[] }
  | { kind: 'object'; fields: [string, Value][] };

interface Field {
  readonly kind: 'field';
  readonly alias?: string;
  readonly name: string;
  readonly args: [string, Value][];
  readonly selections: Selection[];
}
interface InlineFragment {
  readonly kind: 'inline';
  readonly on?: string;
  readonly selections: Selection[];
}
type Selection = Field | InlineFragment;

interface Operation {
  readonly type: 'query' | 'mutation';
  readonly name?: string;
  readonly variables: { name: string; type: string; defaultValue?: Value }[];
  readonly selections: Selection[];
}

/** Object types and their fields: a field's type is a leaf (`scalar`) or another object type. */
const SCHEMA: Record<string, Record<string, { type: string; args?: string[] }>> = {
  Query: {
    __typename: { type: 'scalar' },
    node: { type: 'Node', args: ['id'] },
    getUsersByStandardAttribute: { type: 'User', args: ['attributeName', 'attributeValue'] },
  },
  Mutation: { __typename: { type: 'scalar' }, updateUser: { type: 'UpdateUserPayload', args: ['input'] } },
  UpdateUserPayload: { __typename: { type: 'scalar' }, user: { type: 'User' } },
  Node: { __typename: { type: 'scalar' }, id: { type: 'scalar' } },
  User: {
    __typename: { type: 'scalar' },
    id: { type: 'scalar' },
    isDisabled: { type: 'scalar' },
    isDeactivated: { type: 'scalar' },
    isAnonymized: { type: 'scalar' },
    createdAt: { type: 'scalar' },
    updatedAt: { type: 'scalar' },
    standardAttributes: { type: 'scalar' },
    customAttributes: { type: 'scalar' },
  },
};
const POSSIBLE: Record<string, string[]> = { Node: ['User'], User: ['User'], UpdateUserPayload: ['UpdateUserPayload'] };

function validate(operation: Operation): string[] {
  const errors: string[] = [];
  const walk = (typeName: string, selections: Selection[]) => {
    for (const s of selections) {
      if (s.kind === 'inline') {
        const on = s.on ?? typeName;
        if (!SCHEMA[on] || (on !== typeName && !(POSSIBLE[on] ?? []).includes(typeName) && !(POSSIBLE[typeName] ?? []).includes(on))) {
          errors.push(`Fragment cannot be spread here as objects of type "${typeName}" can never be of type "${on}".`);
          continue;
        }
        walk(on, s.selections);
        continue;
      }
      const def = SCHEMA[typeName]![s.name];
      if (!def) {
        errors.push(`Cannot query field "${s.name}" on type "${typeName}".`);
        continue;
      }
      for (const [arg] of s.args) if (!(def.args ?? []).includes(arg)) errors.push(`Unknown argument "${arg}" on field "${s.name}" of type "${typeName}".`);
      for (const arg of def.args ?? []) if (!s.args.some(([a]) => a === arg)) errors.push(`Field "${s.name}" argument "${arg}" is required but not provided.`);
      if (def.type === 'scalar' && s.selections.length > 0) errors.push(`Field "${s.name}" must not have a selection since type has no subfields.`);
      if (def.type !== 'scalar' && s.selections.length === 0) errors.push(`Field "${s.name}" of type "${def.type}" must have a sub selection.`);
      if (def.type !== 'scalar') walk(def.type, s.selections);
    }
  };
  walk(operation.type === 'query' ? 'Query' : 'Mutation', operation.selections);
  return errors;
}

function resolveArguments(args: [string, Value][], variables: Record<string, unknown>): Record<string, unknown> {
  const value = (v: Value): unknown => {
    if (v.kind === 'var') return variables[v.name];
    if (v.kind === 'const') return v.value;
    if (v.kind === 'list') return v.items.map(value);
    return Object.fromEntries(v.fields.map(([k, f]) => [k, value(f)]).filter(([, f]) => f !== undefined));
  };
  return Object.fromEntries(args.map(([k, v]) => [k, value(v)]));
}

/** Only what was selected, under its alias, in selection order. */
function completeObject(value: unknown, typeName: string, selections: Selection[]): unknown {
  if (value === null || value === undefined) return null;
  const source = value as Record<string, unknown>;
  const actual = typeof source.__typename === 'string' ? source.__typename : typeName;
  const out: Record<string, unknown> = {};
  const apply = (list: Selection[]) => {
    for (const s of list) {
      if (s.kind === 'inline') {
        if (!s.on || s.on === actual || (POSSIBLE[s.on] ?? []).includes(actual)) apply(s.selections);
        continue;
      }
      const def = SCHEMA[actual]?.[s.name] ?? SCHEMA[typeName]?.[s.name];
      const field = s.name === '__typename' ? actual : source[s.name];
      out[s.alias ?? s.name] = def && def.type !== 'scalar' ? completeObject(field, def.type, s.selections) : (field ?? null);
    }
  };
  apply(selections);
  return out;
}

function parseDocument(text: string): Operation[] {
  const tokens = tokenize(text);
  let i = 0;
  const peek = () => tokens[i];
  const next = () => {
    const t = tokens[i++];
    if (t === undefined) throw new Error('Syntax Error: Unexpected <EOF>');
    return t;
  };
  const expect = (value: string) => {
    const t = next();
    if (t.value !== value) throw new Error(`Syntax Error: Expected "${value}", found "${t.value}"`);
  };
  const name = () => {
    const t = next();
    if (t.kind !== 'name') throw new Error(`Syntax Error: Expected Name, found "${t.value}"`);
    return t.value;
  };
  const type = (): string => {
    let out: string;
    if (peek()?.value === '[') {
      next();
      out = `[${type()}]`;
      expect(']');
    } else out = name();
    if (peek()?.value === '!') {
      next();
      out += '!';
    }
    return out;
  };
  const value = (): Value => {
    const t = next();
    if (t.value === '$' && t.kind === 'punct') return { kind: 'var', name: name() };
    if (t.kind === 'string') return { kind: 'const', value: t.value };
    if (t.kind === 'number') return { kind: 'const', value: Number(t.value) };
    if (t.kind === 'name') return { kind: 'const', value: t.value === 'true' ? true : t.value === 'false' ? false : t.value === 'null' ? null : t.value };
    if (t.value === '[') {
      const items: Value[] = [];
      while (peek()?.value !== ']') items.push(value());
      next();
      return { kind: 'list', items };
    }
    if (t.value === '{') {
      const fields: [string, Value][] = [];
      while (peek()?.value !== '}') {
        const key = name();
        expect(':');
        fields.push([key, value()]);
      }
      next();
      return { kind: 'object', fields };
    }
    throw new Error(`Syntax Error: Unexpected "${t.value}"`);
  };
  const selectionSet = (): Selection[] => {
    expect('{');
    const out: Selection[] = [];
    while (peek()?.value !== '}') {
      if (peek()?.value === '...') {
        next();
        let on: string | undefined;
        if (peek()?.value === 'on') {
          next();
          on = name();
        } else if (peek()?.kind === 'name') throw new Error('fake authgear: named fragments are not supported');
        out.push({ kind: 'inline', ...(on ? { on } : {}), selections: selectionSet() });
        continue;
      }
      let fieldName = name();
      let alias: string | undefined;
      if (peek()?.value === ':') {
        next();
        alias = fieldName;
        fieldName = name();
      }
      const args: [string, Value][] = [];
      if (peek()?.value === '(') {
        next();
        while (peek()?.value !== ')') {
          const key = name();
          expect(':');
          args.push([key, value()]);
        }
        next();
      }
      const selections = peek()?.value === '{' ? selectionSet() : [];
      out.push({ kind: 'field', ...(alias ? { alias } : {}), name: fieldName, args, selections });
    }
    next();
    if (out.length === 0) throw new Error('Syntax Error: Expected Name, found "}"');
    return out;
  };
  const operations: Operation[] = [];
  while (i < tokens.length) {
    if (peek()?.value === '{') {
      operations.push({ type: 'query', variables: [], selections: selectionSet() });
      continue;
    }
    const kind = name();
    if (kind !== 'query' && kind !== 'mutation') throw new Error(`Syntax Error: Unexpected Name "${kind}"`);
    const opName = peek()?.kind === 'name' ? name() : undefined;
    const variables: Operation['variables'] = [];
    if (peek()?.value === '(') {
      next();
      while (peek()?.value !== ')') {
        expect('$');
        const v = name();
        expect(':');
        const t = type();
        let defaultValue: Value | undefined;
        if (peek()?.value === '=') {
          next();
          defaultValue = value();
        }
        variables.push({ name: v, type: t, ...(defaultValue ? { defaultValue } : {}) });
      }
      next();
    }
    operations.push({ type: kind, ...(opName ? { name: opName } : {}), variables, selections: selectionSet() });
  }
  if (operations.length === 0) throw new Error('Syntax Error: Unexpected <EOF>');
  return operations;
}

interface Token {
  readonly kind: 'punct' | 'name' | 'number' | 'string';
  readonly value: string;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/[\s,\ufeff]/.test(c)) {
      i++;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (text.startsWith('...', i)) {
      tokens.push({ kind: 'punct', value: '...' });
      i += 3;
    } else if ('!$()[]{}:=@|'.includes(c)) {
      tokens.push({ kind: 'punct', value: c });
      i++;
    } else if (/[_A-Za-z]/.test(c)) {
      const m = /^[_A-Za-z][_0-9A-Za-z]*/.exec(text.slice(i))!;
      tokens.push({ kind: 'name', value: m[0] });
      i += m[0].length;
    } else if (/[-0-9]/.test(c)) {
      const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
      if (!m) throw new Error(`Syntax Error: Unexpected character "${c}"`);
      tokens.push({ kind: 'number', value: m[0] });
      i += m[0].length;
    } else if (c === '"') {
      if (text.startsWith('"""', i)) {
        const end = text.indexOf('"""', i + 3);
        if (end < 0) throw new Error('Syntax Error: Unterminated string.');
        tokens.push({ kind: 'string', value: text.slice(i + 3, end) });
        i = end + 3;
        continue;
      }
      let j = i + 1;
      let raw = '';
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\') {
          raw += text.slice(j, j + 2);
          j += 2;
        } else raw += text[j++];
      }
      if (j >= text.length) throw new Error('Syntax Error: Unterminated string.');
      tokens.push({ kind: 'string', value: JSON.parse(`"${raw}"`) as string });
      i = j + 1;
    } else {
      throw new Error(`Syntax Error: Cannot parse the unexpected character "${c}".`);
    }
  }
  return tokens;
}
