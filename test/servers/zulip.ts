// A Zulip server that answers like the real one (../shared/targets/zulip.md, seed 001). It is
// deliberately no kinder than the real server:
//   - Basic auth as access_user_by_api_key does it: a key must have the API-key format, exist,
//     and be used with its owner's delivery email (case-insensitive), else 401 UNAUTHORIZED with
//     WWW-Authenticate; a browser-style Accept without auth gets a 302 to the login page;
//   - POST /users/me/avatar runs the server's checks in order: exactly one file part (else the
//     seed's BAD_REQUEST body), the avatar-change restriction (admins and owners exempt), the size
//     limit (strictly greater fails), the content type — checked from BOTH the filename and the
//     part's Content-Type, since releases differ on which one they read — then a real decode with
//     sharp (BAD_IMAGE), then avatar_version += 1;
//   - per-user rate limits (200/min by default) with fractional Retry-After and the RATE_LIMIT_HIT
//     body, X-RateLimit-* headers on every authenticated answer, a per-IP bucket for
//     unauthenticated calls;
//   - jwt/fetch_api_key verifies HS256 for real (jose) against the configured JWT_AUTH_KEYS secret;
//   - GET /users defaults to client_gravatar=true (FL 92+), hides delivery_email by visibility.
import { createHash, randomBytes } from 'node:crypto';
import { jwtVerify } from 'jose';
import sharp, { type Metadata } from 'sharp';
import { FakeServer, type FakeRequest, type Faults, type Reply, type Route } from './harness.js';
import { multipartBoundary, parseMultipart } from './multipart.js';

export type Role = 100 | 200 | 300 | 400 | 600; // owner, administrator, moderator, member, guest
export type EmailVisibility = 'everyone' | 'admins' | 'nobody';

export interface ZulipOptions {
  readonly version?: string;
  readonly featureLevel?: number;
  /** MAX_AVATAR_FILE_SIZE_MIB (default 5). */
  readonly maxAvatarFileSizeMib?: number;
  /** AVATAR_CHANGES_DISABLED in settings.py. */
  readonly serverAvatarChangesDisabled?: boolean;
  /** The organisation's "Prevent users from changing their avatar". */
  readonly realmAvatarChangesDisabled?: boolean;
  /** JWT_AUTH_KEYS[subdomain].key with algorithms ["HS256"]; JWT is off when absent. */
  readonly jwtSecret?: string;
  /** api_by_user (default 200 requests per 60 s). */
  readonly userRateLimit?: { readonly requests: number; readonly windowMs: number };
  /** api_by_ip for unauthenticated calls (default 100 per 60 s). */
  readonly ipRateLimit?: { readonly requests: number; readonly windowMs: number };
  /** The host dummy emails are made with (`user{id}@host`). */
  readonly host?: string;
  /**
   * NOT a real Zulip behaviour: authenticate by key alone, ignoring the email in Basic auth (a
   * hypothetical proxy or future server that relaxes the check). Only for the test that proves
   * the tool's own check keeps one user's key off another's avatar.
   */
  readonly ignoreEmailInBasicAuth?: boolean;
  readonly now?: () => number;
}

export interface ZulipUserState {
  readonly userId: number;
  /** The delivery email: the real address. */
  email: string;
  fullName: string;
  role: Role;
  isBot: boolean;
  isActive: boolean;
  avatarVersion: number;
  avatarSource: 'G' | 'U' | 'J';
  apiKey: string;
  emailVisibility: EmailVisibility;
}

export interface AvatarUpload {
  /** The account whose avatar changed: the key's owner (it is always /users/me). */
  readonly userId: number;
  /** The email the request authenticated with, as sent. */
  readonly authEmail: string;
  readonly bytes: Buffer;
  readonly filename: string;
  readonly contentType: string;
  /** Parts in the multipart body, files or not. */
  readonly parts: number;
  /** avatar_version after the upload. */
  readonly version: number;
}

const ACCEPTED = new Set(['image/avif', 'image/gif', 'image/heic', 'image/jpeg', 'image/png', 'image/tiff', 'image/webp']);
const BY_EXTENSION: Record<string, string> = {
  avif: 'image/avif', gif: 'image/gif', heic: 'image/heic', jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png',
  tif: 'image/tiff', tiff: 'image/tiff', webp: 'image/webp', bmp: 'image/bmp', svg: 'image/svg+xml', txt: 'text/plain',
};
const DECODERS = new Set(['avif', 'gif', 'heif', 'jpeg', 'png', 'tiff', 'webp']);
const IMAGE_BOMB_TOTAL_PIXELS = 90_000_000;
const KEY_FORMAT = /^[a-zA-Z0-9]{32}$/;

const json = (status: number, body: Record<string, unknown>, headers?: Record<string, string>): Reply => ({ status, json: body, ...(headers ? { headers } : {}) });
const success = (body: Record<string, unknown> = {}, headers?: Record<string, string>): Reply => json(200, { result: 'success', msg: '', ...body }, headers);
export const zulipError = (status: number, code: string, msg: string, extra: Record<string, unknown> = {}, headers?: Record<string, string>): Reply =>
  json(status, { result: 'error', msg, code, ...extra }, headers);

export class FakeZulip {
  readonly users = new Map<number, ZulipUserState>();
  readonly uploads: AvatarUpload[] = [];
  /** Emails jwt/fetch_api_key issued a key for, in order (each one is a "new login" email). */
  readonly jwtFetches: string[] = [];
  /** GET /users/me calls that succeeded, by the caller's user_id. */
  readonly meCalls = new Map<number, number>();
  /** Event queues register made and not deleted. */
  readonly queues = new Set<string>();
  readonly admin: ZulipUserState;
  readonly host: string;
  #nextId = 8;
  #forced = new Map<number, { left: number; retryAfterSeconds: number }>();
  #windows = new Map<string, number[]>();
  #opts: Required<Omit<ZulipOptions, 'jwtSecret'>> & Pick<ZulipOptions, 'jwtSecret'>;
  server!: FakeServer;

  private constructor(options: ZulipOptions) {
    this.#opts = {
      version: '11.4',
      featureLevel: 421,
      maxAvatarFileSizeMib: 5,
      serverAvatarChangesDisabled: false,
      realmAvatarChangesDisabled: false,
      userRateLimit: { requests: 200, windowMs: 60_000 },
      ipRateLimit: { requests: 100, windowMs: 60_000 },
      host: 'chat.example.com',
      ignoreEmailInBasicAuth: false,
      now: Date.now,
      ...options,
    };
    this.host = this.#opts.host;
    this.admin = this.addUser('Admin@Corp.Example', { role: 100, fullName: 'Iago Admin' });
  }

  static async start(options: ZulipOptions = {}): Promise<FakeZulip> {
    const zulip = new FakeZulip(options);
    zulip.server = await FakeServer.start({
      routes: zulip.#routes(),
      unrouted: (_request, methodAllowed) =>
        methodAllowed ? zulipError(404, 'BAD_REQUEST', 'Not Found') : zulipError(405, 'BAD_REQUEST', 'Method Not Allowed'),
      rateLimited: (ms) => zulip.#rateLimited(ms / 1000),
      // Django's own 500 page: HTML, no JSON.
      serverError: () => ({ status: 500, headers: { 'Content-Type': 'text/html' }, body: '<h1>Server Error (500)</h1>' }),
    });
    return zulip;
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

  set realmAvatarChangesDisabled(value: boolean) {
    this.#opts = { ...this.#opts, realmAvatarChangesDisabled: value };
  }

  /** The operator rotates JWT_AUTH_KEYS. */
  set jwtSecret(value: string) {
    this.#opts = { ...this.#opts, jwtSecret: value };
  }

  // --- state for tests ---------------------------------------------------------------------

  addUser(
    email: string,
    init: { role?: Role; isBot?: boolean; isActive?: boolean; avatarVersion?: number; avatarSource?: 'G' | 'U' | 'J'; emailVisibility?: EmailVisibility; fullName?: string } = {},
  ): ZulipUserState {
    const user: ZulipUserState = {
      userId: this.#nextId++,
      email,
      fullName: init.fullName ?? email.split('@')[0]!,
      role: init.role ?? 400,
      isBot: init.isBot ?? false,
      isActive: init.isActive ?? true,
      avatarVersion: init.avatarVersion ?? 1,
      avatarSource: init.avatarSource ?? 'G',
      apiKey: newKey(),
      emailVisibility: init.emailVisibility ?? 'admins',
    };
    this.users.set(user.userId, user);
    return user;
  }

  byEmail(email: string): ZulipUserState | undefined {
    const wanted = email.toLowerCase();
    for (const user of this.users.values()) if (user.email.toLowerCase() === wanted) return user;
    return undefined;
  }

  /** The user's key, as their zuliprc would hold it. */
  keyOf(email: string): string {
    return this.#must(email).apiKey;
  }

  /** POST /users/me/api_key/regenerate: the old key stops working. */
  regenerateKey(email: string): string {
    const user = this.#must(email);
    user.apiKey = newKey();
    return user.apiKey;
  }

  deactivate(email: string): void {
    this.#must(email).isActive = false;
  }

  /** The user picks another picture in the web app: what the tool must then leave alone. */
  userChangesAvatar(email: string): void {
    const user = this.#must(email);
    user.avatarVersion++;
    user.avatarSource = 'U';
  }

  /** The next `requests` authenticated requests by this user are answered 429 asking to wait. */
  limitNext(email: string, requests: number, retryAfterSeconds: number): void {
    this.#forced.set(this.#must(email).userId, { left: requests, retryAfterSeconds });
  }

  /** Requests that authenticated as this user (any outcome but 401), by route. */
  requestsBy(email: string, route?: string): number {
    const user = this.#must(email);
    return this.server.requests.filter((r) => (route === undefined || r.route === route) && basicEmail(r.headers.authorization)?.toLowerCase() === user.email.toLowerCase() && r.outcome !== 401).length;
  }

  #must(email: string): ZulipUserState {
    const user = this.byEmail(email);
    if (!user) throw new Error(`fake zulip: no user ${email}`);
    return user;
  }

  // --- routes ------------------------------------------------------------------------------

  #routes(): Route[] {
    const r = (name: string, method: string, path: RegExp, handle: Route['handle']): Route => ({ name, method, path, handle });
    const authed = (handle: (request: FakeRequest, me: ZulipUserState, params: string[]) => Reply | Promise<Reply>): Route['handle'] =>
      (request, params) => {
        const auth = this.#auth(request);
        if ('reply' in auth) return auth.reply;
        const limited = this.#take(auth.user);
        if (limited) return limited;
        return Promise.resolve(handle(request, auth.user, params)).then((reply) => withHeaders(reply, this.#rateHeaders(auth.user)));
      };
    const anonymous = (handle: (request: FakeRequest) => Reply | Promise<Reply>): Route['handle'] =>
      (request) => this.#takeIp() ?? handle(request);
    return [
      r('server_settings', 'GET', /^\/api\/v1\/server_settings$/, anonymous(() => this.#serverSettings())),
      r('register', 'POST', /^\/api\/v1\/register$/, authed((q, me) => this.#register(q, me))),
      r('delete_queue', 'DELETE', /^\/api\/v1\/events$/, authed((q) => this.#deleteQueue(q))),
      r('users', 'GET', /^\/api\/v1\/users$/, authed((q, me) => this.#listUsers(q, me))),
      r('users_me', 'GET', /^\/api\/v1\/users\/me$/, authed((_q, me) => this.#me(me))),
      r('avatar_upload', 'POST', /^\/api\/v1\/users\/me\/avatar$/, authed((q, me) => this.#upload(q, me))),
      r('user_by_email', 'GET', /^\/api\/v1\/users\/([^/]+)$/, authed((q, me, [who]) => this.#userByEmail(q, me, who!))),
      r('jwt_fetch_api_key', 'POST', /^\/api\/v1\/jwt\/fetch_api_key$/, anonymous((q) => this.#jwtFetch(q))),
    ];
  }

  /** zerver/decorator.py: authenticated_rest_api_view + access_user_by_api_key. */
  #auth(request: FakeRequest): { user: ZulipUserState } | { reply: Reply } {
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
    const user = [...this.users.values()].find((u) => u.apiKey === key);
    if (!user) return unauthorized('Invalid API key');
    if (!this.#opts.ignoreEmailInBasicAuth && email.toLowerCase() !== user.email.toLowerCase()) return unauthorized('Invalid API key');
    if (!user.isActive) return unauthorized('Account is deactivated');
    return { user };
  }

  /** api_by_user: a sliding window per user, plus whatever a test forced. */
  #take(user: ZulipUserState): Reply | undefined {
    const forced = this.#forced.get(user.userId);
    if (forced && forced.left > 0) {
      forced.left--;
      return this.#rateLimited(forced.retryAfterSeconds, this.#rateHeaders(user, 0));
    }
    const wait = this.#window(`user:${user.userId}`, this.#opts.userRateLimit);
    return wait === undefined ? undefined : this.#rateLimited(wait, this.#rateHeaders(user, 0));
  }

  #takeIp(): Reply | undefined {
    const wait = this.#window('ip', this.#opts.ipRateLimit);
    return wait === undefined ? undefined : this.#rateLimited(wait);
  }

  /** Seconds until a request would pass, or undefined when this one does (and is counted). */
  #window(key: string, rule: { requests: number; windowMs: number }): number | undefined {
    const now = this.#opts.now();
    const hits = (this.#windows.get(key) ?? []).filter((t) => t > now - rule.windowMs);
    this.#windows.set(key, hits);
    if (hits.length >= rule.requests) return Math.max(0.001, (hits[0]! + rule.windowMs - now) / 1000);
    hits.push(now);
    return undefined;
  }

  #rateHeaders(user: ZulipUserState, remaining?: number): Record<string, string> {
    const { requests, windowMs } = this.#opts.userRateLimit;
    const now = this.#opts.now();
    const used = (this.#windows.get(`user:${user.userId}`) ?? []).filter((t) => t > now - windowMs).length;
    return {
      'X-RateLimit-Limit': String(requests),
      'X-RateLimit-Remaining': String(remaining ?? Math.max(0, requests - used)),
      'X-RateLimit-Reset': String(Math.ceil((now + windowMs) / 1000)),
    };
  }

  /** zerver/lib/exceptions.py RateLimitedError: 429, RATE_LIMIT_HIT, `retry-after` in body and header. */
  #rateLimited(seconds: number, headers: Record<string, string> = {}): Reply {
    const rounded = Math.round(seconds * 1000) / 1000;
    return zulipError(
      429,
      'RATE_LIMIT_HIT',
      'API usage exceeded rate limit; see https://zulip.com/api/http-headers#rate-limiting-response-headers',
      { 'retry-after': rounded },
      { ...headers, 'Retry-After': String(rounded) },
    );
  }

  #serverSettings(): Reply {
    return success({
      authentication_methods: { password: true, dev: false, email: true, ldap: false, remoteuser: false, github: false, azuread: false, gitlab: false, google: false, apple: false, saml: false, 'openid connect': false },
      external_authentication_methods: [],
      zulip_version: this.#opts.version,
      zulip_merge_base: this.#opts.version,
      zulip_feature_level: this.#opts.featureLevel,
      push_notifications_enabled: false,
      is_incompatible: false,
      email_auth_enabled: true,
      require_email_format_usernames: true,
      realm_url: `https://${this.host}`,
      realm_uri: `https://${this.host}`,
      realm_name: 'Corp',
      realm_icon: '/static/images/logo/zulip-icon-128x128.png',
      realm_description: '',
      realm_web_public_access_enabled: false,
    });
  }

  #register(request: FakeRequest, me: ZulipUserState): Reply {
    const params = formBody(request);
    let types: unknown = undefined;
    const raw = params.get('fetch_event_types') ?? params.get('event_types');
    if (raw !== null) {
      try {
        types = JSON.parse(raw);
      } catch {
        return zulipError(400, 'BAD_REQUEST', 'fetch_event_types is not valid JSON');
      }
      if (!Array.isArray(types)) return zulipError(400, 'BAD_REQUEST', 'fetch_event_types is not a list');
    }
    const wants = (type: string) => types === undefined || (types as unknown[]).includes(type);
    const queueId = `${Date.now()}:${randomBytes(4).toString('hex')}`;
    this.queues.add(queueId);
    const state: Record<string, unknown> = {
      queue_id: queueId,
      last_event_id: -1,
      zulip_version: this.#opts.version,
      zulip_feature_level: this.#opts.featureLevel,
      zulip_merge_base: this.#opts.version,
    };
    if (wants('realm')) {
      Object.assign(state, {
        max_avatar_file_size_mib: this.#opts.maxAvatarFileSizeMib,
        server_avatar_changes_disabled: this.#opts.serverAvatarChangesDisabled,
        realm_avatar_changes_disabled: this.#opts.realmAvatarChangesDisabled,
        realm_name: 'Corp',
        realm_email_changes_disabled: false,
        realm_name_changes_disabled: false,
      });
    }
    if (wants('realm_user')) {
      Object.assign(state, {
        avatar_source: me.avatarSource,
        avatar_url: this.#avatarUrl(me, false),
        avatar_url_medium: this.#avatarUrl(me, false),
        user_id: me.userId,
        email: me.email,
        delivery_email: me.email,
        full_name: me.fullName,
        is_admin: isAdmin(me),
        is_owner: me.role === 100,
        realm_users: [...this.users.values()].filter((u) => !u.isBot).map((u) => this.#userObject(u, me, false)),
      });
    }
    return success(state);
  }

  #deleteQueue(request: FakeRequest): Reply {
    const id = request.query.get('queue_id') ?? formBody(request).get('queue_id');
    if (!id || !this.queues.delete(id)) return zulipError(400, 'BAD_EVENT_QUEUE_ID', `Bad event queue ID: ${id ?? ''}`, { queue_id: id });
    return success();
  }

  /** GET /users: everyone, as `viewer` may see them. */
  #listUsers(request: FakeRequest, viewer: ZulipUserState): Reply {
    const gravatar = bool(request.query.get('client_gravatar'), true);
    if (gravatar === undefined) return zulipError(400, 'BAD_REQUEST', 'client_gravatar is not a boolean');
    const members = [...this.users.values()].map((u) => this.#userObject(u, viewer, gravatar));
    return success({ members });
  }

  /** GET /users/{email} (access_user_by_email): the delivery email, case-insensitive, or a dummy
   * address; filtered by what the viewer may see; 400 "No such user" otherwise. Also /users/{id}. */
  #userByEmail(request: FakeRequest, viewer: ZulipUserState, who: string): Reply {
    const gravatar = bool(request.query.get('client_gravatar'), true);
    if (gravatar === undefined) return zulipError(400, 'BAD_REQUEST', 'client_gravatar is not a boolean');
    let user: ZulipUserState | undefined;
    if (/^\d+$/.test(who)) user = this.users.get(Number(who));
    else {
      const dummy = /^user(\d+)@(.+)$/i.exec(who);
      user = dummy && dummy[2]!.toLowerCase() === this.host ? this.users.get(Number(dummy[1])) : undefined;
      if (!user) {
        const candidate = this.byEmail(who);
        if (candidate && this.#canSeeEmail(viewer, candidate)) user = candidate;
      }
    }
    if (!user) return zulipError(400, 'BAD_REQUEST', 'No such user');
    return success({ user: this.#userObject(user, viewer, gravatar) });
  }

  #me(me: ZulipUserState): Reply {
    this.meCalls.set(me.userId, (this.meCalls.get(me.userId) ?? 0) + 1);
    return success({ ...this.#userObject(me, me, false), max_message_id: -1 });
  }

  /** zerver/views/user_settings.py set_avatar_backend, then upload_avatar_image. */
  async #upload(request: FakeRequest, me: ZulipUserState): Promise<Reply> {
    const parts = multipartParts(request);
    const files = parts.filter((p): p is MultipartFile => p.filename !== undefined);
    if (files.length !== 1) return zulipError(400, 'BAD_REQUEST', 'You must upload exactly one avatar.');
    if ((this.#opts.serverAvatarChangesDisabled || this.#opts.realmAvatarChangesDisabled) && !isAdmin(me)) {
      return zulipError(400, 'BAD_REQUEST', 'Avatar changes are disabled in this organization.');
    }
    const [file] = files as [MultipartFile];
    const mib = this.#opts.maxAvatarFileSizeMib;
    if (file.bytes.length > mib * 1024 * 1024) return zulipError(400, 'BAD_REQUEST', `Uploaded file is larger than the allowed limit of ${mib} MiB`);
    const byName = BY_EXTENSION[file.filename.split('.').pop()?.toLowerCase() ?? ''];
    const byPart = file.contentType.split(';')[0]!.trim().toLowerCase();
    if (!byName || !ACCEPTED.has(byName) || (byPart !== '' && !ACCEPTED.has(byPart))) return zulipError(400, 'BAD_IMAGE', 'Invalid image format');
    let meta: Metadata;
    try {
      meta = await sharp(file.bytes).metadata();
    } catch {
      return zulipError(400, 'BAD_IMAGE', 'Could not decode image; did you upload an image file?');
    }
    if (!meta.format || !DECODERS.has(meta.format)) return zulipError(400, 'BAD_IMAGE', 'Could not decode image; did you upload an image file?');
    if ((meta.width ?? 0) * (meta.height ?? 0) * (meta.pages ?? 1) > IMAGE_BOMB_TOTAL_PIXELS) return zulipError(400, 'BAD_IMAGE', 'Image size exceeds limit.');
    try {
      // The 100 px rendition, as resize_avatar makes it (the 500 px one fails the same way).
      await sharp(file.bytes).resize(100, 100, { fit: 'cover' }).png().toBuffer();
    } catch {
      return zulipError(400, 'BAD_IMAGE', 'Image is corrupted or truncated');
    }
    me.avatarVersion++;
    me.avatarSource = 'U';
    this.uploads.push({ userId: me.userId, authEmail: basicEmail(request.headers.authorization) ?? '', bytes: file.bytes, filename: file.filename, contentType: file.contentType, parts: parts.length, version: me.avatarVersion });
    return success({ avatar_url: this.#avatarUrl(me, false) });
  }

  /** zerver/views/auth.py jwt_fetch_api_key. */
  async #jwtFetch(request: FakeRequest): Promise<Reply> {
    const secret = this.#opts.jwtSecret;
    if (secret === undefined) return zulipError(400, 'BAD_REQUEST', 'JWT authentication is not enabled for this organization');
    const token = formBody(request).get('token') ?? '';
    if (!token) return zulipError(400, 'BAD_REQUEST', 'No JSON web token passed in request');
    let payload: Record<string, unknown>;
    try {
      payload = (await jwtVerify(token, new TextEncoder().encode(secret), { algorithms: ['HS256'] })).payload;
    } catch {
      return zulipError(400, 'BAD_REQUEST', 'Bad JSON web token');
    }
    const email = payload.email;
    if (typeof email !== 'string') return zulipError(400, 'BAD_REQUEST', 'No email specified in JSON web token claims');
    const user = this.byEmail(email);
    if (!user) return zulipError(401, 'AUTHENTICATION_FAILED', 'Your username or password is incorrect');
    if (!user.isActive) return zulipError(401, 'USER_DEACTIVATED', 'Account is deactivated');
    this.jwtFetches.push(user.email);
    return success({ api_key: user.apiKey, email: user.email });
  }

  // --- user objects ------------------------------------------------------------------------

  #canSeeEmail(viewer: ZulipUserState, user: ZulipUserState): boolean {
    if (viewer.userId === user.userId || user.emailVisibility === 'everyone') return true;
    return user.emailVisibility === 'admins' && isAdmin(viewer);
  }

  /** format_user_row. */
  #userObject(user: ZulipUserState, viewer: ZulipUserState, clientGravatar: boolean): Record<string, unknown> {
    const visible = user.isBot || user.emailVisibility === 'everyone';
    return {
      email: visible ? user.email : `user${user.userId}@${this.host}`,
      user_id: user.userId,
      avatar_version: user.avatarVersion,
      is_admin: isAdmin(user),
      is_owner: user.role === 100,
      is_guest: user.role === 600,
      is_billing_admin: false,
      role: user.role,
      is_bot: user.isBot,
      full_name: user.fullName,
      timezone: '',
      is_active: user.isActive,
      date_joined: '2024-01-02T03:04:05+00:00',
      delivery_email: this.#canSeeEmail(viewer, user) ? user.email : null,
      avatar_url: this.#avatarUrl(user, clientGravatar),
      ...(user.isBot ? { bot_type: 1, bot_owner_id: this.admin.userId } : {}),
      profile_data: {},
    };
  }

  #avatarUrl(user: ZulipUserState, clientGravatar: boolean): string | null {
    if (user.avatarSource === 'G') {
      if (clientGravatar) return null;
      const md5 = createHash('md5').update(user.email.toLowerCase()).digest('hex');
      return `https://secure.gravatar.com/avatar/${md5}?d=identicon&version=${user.avatarVersion}`;
    }
    const hash = createHash('sha1').update(`${user.userId}:${user.avatarVersion}:salt`).digest('hex');
    return `/user_avatars/2/${hash}.png`;
  }
}

interface MultipartPart {
  readonly filename?: string;
  readonly contentType: string;
  readonly bytes: Buffer;
}
type MultipartFile = MultipartPart & { readonly filename: string };

/** Every part of a multipart body; Django puts those with a filename in request.FILES. */
function multipartParts(request: FakeRequest): MultipartPart[] {
  const boundary = multipartBoundary(String(request.headers['content-type'] ?? ''));
  const parts = boundary === undefined ? undefined : parseMultipart(request.body, boundary);
  return (parts ?? []).map((p) => ({ ...(p.filename ? { filename: p.filename } : {}), contentType: p.contentType ?? '', bytes: p.content }));
}

function formBody(request: FakeRequest): URLSearchParams {
  const type = request.headers['content-type'] ?? '';
  return type.startsWith('application/x-www-form-urlencoded') ? new URLSearchParams(request.body.toString('utf8')) : new URLSearchParams();
}

function bool(raw: string | null, fallback: boolean): boolean | undefined {
  if (raw === null) return fallback;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  return undefined;
}

function isAdmin(user: ZulipUserState): boolean {
  return user.role === 100 || user.role === 200;
}

function newKey(): string {
  return randomBytes(24).toString('base64').replace(/[^a-zA-Z0-9]/g, 'x').slice(0, 32);
}

/** The email a Basic header authenticates with. */
export function basicEmail(header: string | undefined): string | undefined {
  if (!header?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(0, colon);
}

function withHeaders(reply: Reply, headers: Record<string, string>): Reply {
  return { ...reply, headers: { ...headers, ...reply.headers } };
}
