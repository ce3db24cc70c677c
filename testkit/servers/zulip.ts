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
//   - GET /users defaults to client_gravatar=true (FL 92+), hides delivery_email by visibility;
//   - DELETE /users/me/avatar: the restriction as for uploads, then back to the organisation's
//     default (Gravatar; from FL 443 the realm's default_avatar_source) with avatar_version += 1 —
//     from FL 443 only when the avatar was uploaded (idempotent), before on every call;
//   - /user_avatars/… serves every version's files without authentication, old ones included
//     (zulip/avatar-files.ts).
//
// This file wires the routes and holds the API tests drive; each concern lives in zulip/:
// api-keys (Basic auth), rate-limits, avatar-upload (the upload's checks), user-objects (what a
// viewer sees), replies (Zulip's JSON and body parsing), state (users and uploads).
import { randomBytes } from 'node:crypto';
import { jwtVerify } from 'jose';
import { FakeServer, HostedFake, type FakeRequest, type Reply, type Route } from './harness.js';
import { authenticate, basicEmail, newKey } from './zulip/api-keys.js';
import { AvatarFiles, type Rendition } from './zulip/avatar-files.js';
import { checkAvatarUpload } from './zulip/avatar-upload.js';
import { RateLimits, rateLimited } from './zulip/rate-limits.js';
import { bool, formBody, success, withHeaders, zulipError } from './zulip/replies.js';
import { isAdmin, type AvatarUpload, type EmailVisibility, type Role, type ZulipUserState } from './zulip/state.js';
import { avatarUrl, canSeeEmail, userObject } from './zulip/user-objects.js';

export { basicEmail, zulipError };
export type { AvatarUpload, EmailVisibility, Role, ZulipUserState };

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
  /** The organisation's default avatar (realm.default_avatar_source): reported by register as
   * realm_default_avatar_source from feature level 456 (Zulip 12.0), as the server does. 'G' when
   * not given, which is every organisation before 12.0. */
  readonly defaultAvatarSource?: 'G' | 'J';
  readonly now?: () => number;
  /** Where avatars are stored: 'local' (LOCAL_UPLOADS_DIR, the default: relative /user_avatars/
   * URLs) or 's3' (S3_AVATAR_BUCKET: absolute URLs into the bucket, served here under /s3-avatars/;
   * /user_avatars/ then answers a permanent redirect there, as serve_local_avatar_unauthed does). */
  readonly avatarStorage?: 'local' | 's3';
}

export class FakeZulip extends HostedFake {
  readonly users = new Map<number, ZulipUserState>();
  readonly uploads: AvatarUpload[] = [];
  /** Emails jwt/fetch_api_key issued a key for, in order (each one is a "new login" email). */
  readonly jwtFetches: string[] = [];
  /** GET /users/me calls that succeeded, by the caller's user_id. */
  readonly meCalls = new Map<number, number>();
  /** Event queues register made and not deleted. */
  readonly queues = new Set<string>();
  /** Accepted DELETE /users/me/avatar calls, by the caller's user_id, whether they changed anything or not. */
  readonly avatarDeletes: number[] = [];
  readonly #files = new AvatarFiles();
  readonly admin: ZulipUserState;
  readonly host: string;
  #nextId = 8;
  #opts: Required<Omit<ZulipOptions, 'jwtSecret'>> & Pick<ZulipOptions, 'jwtSecret'>;
  readonly #limits: RateLimits;

  private constructor(options: ZulipOptions) {
    super();
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
      defaultAvatarSource: 'G',
      now: Date.now,
      avatarStorage: 'local',
      ...options,
    };
    this.host = this.#opts.host;
    this.#limits = new RateLimits({ now: this.#opts.now, user: this.#opts.userRateLimit, ip: this.#opts.ipRateLimit });
    this.admin = this.addUser('Admin@Corp.Example', { role: 100, fullName: 'Iago Admin' });
  }

  static async start(options: ZulipOptions = {}): Promise<FakeZulip> {
    const zulip = new FakeZulip(options);
    zulip.server = await FakeServer.start({
      routes: zulip.#routes(),
      unrouted: (_request, methodAllowed) =>
        methodAllowed ? zulipError(404, 'BAD_REQUEST', 'Not Found') : zulipError(405, 'BAD_REQUEST', 'Method Not Allowed'),
      rateLimited: (ms) => rateLimited(ms / 1000),
      // Django's own 500 page: HTML, no JSON.
      serverError: () => ({ status: 500, headers: { 'Content-Type': 'text/html' }, body: '<h1>Server Error (500)</h1>' }),
    });
    return zulip;
  }

  /** The avatar bucket's public root with the S3 backend. */
  get #s3Root(): string | undefined {
    return this.#opts.avatarStorage === 's3' ? `${this.server.url}/s3-avatars` : undefined;
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
      avatarSource: init.avatarSource ?? this.#opts.defaultAvatarSource,
      apiKey: newKey(),
      emailVisibility: init.emailVisibility ?? 'admins',
    };
    this.users.set(user.userId, user);
    if (user.avatarSource !== 'G') this.#files.generate(user.userId, user.avatarVersion);
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

  /** The user picks another picture in the web app (`image`, or one of the fake's own making): what
   * the tool must then leave alone. */
  userChangesAvatar(email: string, image?: Buffer): void {
    const user = this.#must(email);
    user.avatarVersion++;
    user.avatarSource = 'U';
    if (image) this.#files.store(user.userId, user.avatarVersion, image);
    else this.#files.generate(user.userId, user.avatarVersion);
  }

  /** What /user_avatars/ serves for the user's current avatar (undefined for a Gravatar). */
  async avatarImage(email: string, rendition: Rendition = 'medium'): Promise<Buffer | undefined> {
    const user = this.#must(email);
    return this.#files.read(user.userId, user.avatarVersion, rendition);
  }

  /** The next `requests` authenticated requests by this user are answered 429 asking to wait. */
  limitNext(email: string, requests: number, retryAfterSeconds: number): void {
    this.#limits.forceNext(this.#must(email).userId, requests, retryAfterSeconds);
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
        const auth = authenticate(request, this.users.values(), this.#opts.ignoreEmailInBasicAuth);
        if ('reply' in auth) return auth.reply;
        const limited = this.#limits.take(auth.user);
        if (limited) return limited;
        return Promise.resolve(handle(request, auth.user, params)).then((reply) => withHeaders(reply, this.#limits.headers(auth.user)));
      };
    const anonymous = (handle: (request: FakeRequest) => Reply | Promise<Reply>): Route['handle'] =>
      (request) => this.#limits.takeIp() ?? handle(request);
    return [
      r('server_settings', 'GET', /^\/api\/v1\/server_settings$/, anonymous(() => this.#serverSettings())),
      r('register', 'POST', /^\/api\/v1\/register$/, authed((q, me) => this.#register(q, me))),
      r('delete_queue', 'DELETE', /^\/api\/v1\/events$/, authed((q) => this.#deleteQueue(q))),
      r('users', 'GET', /^\/api\/v1\/users$/, authed((q, me) => this.#listUsers(q, me))),
      r('users_me', 'GET', /^\/api\/v1\/users\/me$/, authed((_q, me) => this.#me(me))),
      r('avatar_upload', 'POST', /^\/api\/v1\/users\/me\/avatar$/, authed((q, me) => this.#upload(q, me))),
      r('avatar_delete', 'DELETE', /^\/api\/v1\/users\/me\/avatar$/, authed((_q, me) => this.#deleteAvatar(me))),
      // nginx serves these from disk: no authentication, no rate limit.
      r('user_avatars', 'GET', /^\/user_avatars\/(\d+\/[0-9a-f]{40}(?:\.png|-medium\.png|\.original))$/, (_q, [path]) =>
        this.#s3Root === undefined ? this.#files.serve(path!) : { status: 301, headers: { Location: `${this.#s3Root}/${path!}` }, body: '' }),
      // The bucket: public-read objects; a missing key is S3's 403 AccessDenied (the bucket is not listable).
      r('s3_avatars', 'GET', /^\/s3-avatars\/(\d+\/[0-9a-f]{40}(?:\.png|-medium\.png|\.original))$/, async (_q, [path]) => {
        const reply = await this.#files.serve(path!);
        if (reply.status === 200) return reply;
        return { status: 403, headers: { 'Content-Type': 'application/xml' }, body: '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>' };
      }),
      r('user_by_email', 'GET', /^\/api\/v1\/users\/([^/]+)$/, authed((q, me, [who]) => this.#userByEmail(q, me, who!))),
      r('jwt_fetch_api_key', 'POST', /^\/api\/v1\/jwt\/fetch_api_key$/, anonymous((q) => this.#jwtFetch(q))),
    ];
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
        ...(this.#opts.featureLevel >= 456 ? { realm_default_avatar_source: this.#opts.defaultAvatarSource } : {}),
        realm_email_changes_disabled: false,
        realm_name_changes_disabled: false,
      });
    }
    if (wants('realm_user')) {
      Object.assign(state, {
        avatar_source: me.avatarSource,
        avatar_url: avatarUrl(me, false, this.#s3Root),
        avatar_url_medium: avatarUrl(me, false, this.#s3Root),
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
        if (candidate && canSeeEmail(viewer, candidate)) user = candidate;
      }
    }
    if (!user) return zulipError(400, 'BAD_REQUEST', 'No such user');
    return success({ user: this.#userObject(user, viewer, gravatar) });
  }

  #me(me: ZulipUserState): Reply {
    this.meCalls.set(me.userId, (this.meCalls.get(me.userId) ?? 0) + 1);
    return success({ ...this.#userObject(me, me, false), max_message_id: -1 });
  }

  async #upload(request: FakeRequest, me: ZulipUserState): Promise<Reply> {
    const checked = await checkAvatarUpload(request, me, this.#opts);
    if ('reply' in checked) return checked.reply;
    const { file, parts } = checked;
    me.avatarVersion++;
    me.avatarSource = 'U';
    this.#files.store(me.userId, me.avatarVersion, file.bytes);
    this.uploads.push({ userId: me.userId, authEmail: basicEmail(request.headers.authorization) ?? '', bytes: file.bytes, filename: file.filename, contentType: file.contentType, parts, version: me.avatarVersion });
    return success({ avatar_url: avatarUrl(me, false, this.#s3Root) });
  }

  /** zerver/views/user_settings.py delete_avatar_backend. */
  #deleteAvatar(me: ZulipUserState): Reply {
    if ((this.#opts.serverAvatarChangesDisabled || this.#opts.realmAvatarChangesDisabled) && !isAdmin(me)) {
      return zulipError(400, 'BAD_REQUEST', 'Avatar changes are disabled in this organization.');
    }
    this.avatarDeletes.push(me.userId);
    const idempotent = this.#opts.featureLevel >= 443;
    if (!idempotent || me.avatarSource === 'U') {
      // do_change_avatar_fields: the new source, avatar_version += 1, an event to everyone.
      me.avatarSource = idempotent ? this.#opts.defaultAvatarSource : 'G';
      me.avatarVersion++;
      if (me.avatarSource !== 'G') this.#files.generate(me.userId, me.avatarVersion);
    }
    return success({ avatar_url: avatarUrl(me, false, this.#s3Root) });
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

  #userObject(user: ZulipUserState, viewer: ZulipUserState, clientGravatar: boolean): Record<string, unknown> {
    return userObject(user, viewer, clientGravatar, { host: this.host, adminId: this.admin.userId, s3Root: this.#s3Root });
  }
}
