// A Synapse that answers like the real one (../shared/targets/matrix.md; bodies from §8 were captured
// from a running 1.67, the rest read from 1.157.1's source). It is deliberately no kinder than the
// real server: the admin PUT creates missing users, the profile PUT answers 200 for users that do
// not exist, a 429 on the profile PUT comes after the write, uploads need a Content-Length.
// `release: 'old'` is 1.67 (0/1 flags, no Retry-After header, no authenticated media, list entries
// without avatar_url as in seed 003); `release: 'new'` is 1.157.
//
// This file wires the routes and holds the API tests drive; each concern lives in synapse/:
// media (upload limits, avatar rules), rate-limiter (rc_message), user-objects (the admin API's
// shapes per release), replies (Matrix errors, the proxy's 413).
import { randomBytes } from 'node:crypto';
import { FakeServer, HostedFake, RESET, type FakeRequest, type Reply, type Route } from './harness.js';
import { MediaRepository, type Upload } from './synapse/media.js';
import { Ratelimiter } from './synapse/rate-limiter.js';
import { NGINX_413, errorBody, json, matrixError, parseBody } from './synapse/replies.js';
import { adminUserObject, listEntry, type Profile, type SynapseUser } from './synapse/user-objects.js';

export { NGINX_413 };
export type { SynapseUser, Upload };

export interface SynapseOptions {
  /** The homeserver's server_name: what user ids and mxc URIs carry (not the API host). */
  readonly serverName?: string;
  readonly release?: 'old' | 'new';
  /** Overrides of what `release` implies. */
  readonly integerFlags?: boolean;
  readonly retryAfterHeader?: boolean;
  readonly authenticatedMedia?: boolean;
  readonly listIncludesAvatar?: boolean;
  /** max_upload_size (default 50M). */
  readonly maxUploadSize?: number;
  /** An nginx in front with this client_max_body_size: its 413 is HTML. */
  readonly proxyMaxBodySize?: number;
  /** media_upload_limits, as a number of uploads the admin may still make. */
  readonly mediaUploadQuota?: number;
  /** max_avatar_size / allowed_avatar_mimetypes. */
  readonly avatarRules?: { readonly maxBytes?: number; readonly mimeTypes?: readonly string[] };
  /** rc_message (default 0.2/s, burst 10). */
  readonly rcMessage?: { readonly perSecond: number; readonly burst: number };
  /** Synapse holds every rate-limited answer this long (0.5 s) to stop tight loops. */
  readonly rateLimitPauseMs?: number;
  readonly now?: () => number;
}

export class FakeSynapse extends HostedFake {
  readonly serverName: string;
  readonly users = new Map<string, SynapseUser>();
  /** The profiles table: no foreign key to users, as in Synapse (the client PUT can orphan rows). */
  readonly profiles = new Map<string, Profile>();
  /** Every profile PUT that wrote, in order (including those answered with 429). */
  readonly avatarWrites: { user: string; avatar_url: string | null }[] = [];
  readonly adminToken: string;
  #tokens = new Map<string, string>();
  readonly #media: MediaRepository;
  readonly #limiter: Ratelimiter;
  #opts: Required<Omit<SynapseOptions, 'proxyMaxBodySize' | 'mediaUploadQuota' | 'avatarRules'>> &
    Pick<SynapseOptions, 'proxyMaxBodySize' | 'mediaUploadQuota' | 'avatarRules'>;

  private constructor(options: SynapseOptions) {
    super();
    const old = (options.release ?? 'new') === 'old';
    this.#opts = {
      serverName: 'example.org',
      release: old ? 'old' : 'new',
      integerFlags: old,
      retryAfterHeader: !old,
      authenticatedMedia: !old,
      listIncludesAvatar: !old,
      maxUploadSize: 50 * 1024 * 1024,
      rcMessage: { perSecond: 0.2, burst: 10 },
      rateLimitPauseMs: 500,
      now: Date.now,
      ...options,
    };
    this.serverName = this.#opts.serverName;
    this.#media = new MediaRepository(this.#opts);
    this.#limiter = new Ratelimiter({ now: this.#opts.now, rule: this.#opts.rcMessage });
    const admin = this.addUser('admin', { admin: true });
    this.adminToken = this.login(admin);
  }

  static async start(options: SynapseOptions = {}): Promise<FakeSynapse> {
    const synapse = new FakeSynapse(options);
    synapse.server = await FakeServer.start({
      routes: synapse.#routes(),
      unrouted: (request, methodAllowed) => synapse.#unrouted(request, methodAllowed),
      rateLimited: (ms) => synapse.#rateLimited(ms),
      serverError: () => matrixError(500, 'M_UNKNOWN', 'Internal server error'),
    });
    return synapse;
  }

  // --- state for tests ---------------------------------------------------------------------

  get uploads(): Upload[] {
    return this.#media.uploads;
  }

  /** Register a user; `localpart` or a full id. Returns the user id. */
  addUser(
    localpartOrId: string,
    init: { admin?: boolean; deactivated?: boolean; erased?: boolean; guest?: boolean; displayname?: string | null; avatar_url?: string | null } = {},
  ): string {
    const name = localpartOrId.startsWith('@') ? localpartOrId : `@${localpartOrId}:${this.serverName}`;
    this.users.set(name, {
      name,
      admin: init.admin ?? false,
      deactivated: init.deactivated ?? init.erased ?? false,
      erased: init.erased ?? false,
      isGuest: init.guest ?? false,
      creationMs: 1_560_432_668_000,
    });
    // Erasure deletes the profile row (deactivate_account.py).
    if (!init.erased) {
      this.profiles.set(name, { displayname: init.displayname === undefined ? localpart(name) : init.displayname, avatar_url: init.avatar_url ?? null });
    }
    return name;
  }

  /** A new access token for `userId`. */
  login(userId: string): string {
    const token = `syt_${Buffer.from(localpart(userId)).toString('base64url')}_${randomBytes(10).toString('hex')}`;
    this.#tokens.set(token, userId);
    return token;
  }

  /** The token stops working (logged out, expired). */
  revoke(token: string): void {
    this.#tokens.delete(token);
  }

  get userCount(): number {
    return this.users.size;
  }

  avatarOf(userId: string): string | null | undefined {
    return this.profiles.get(userId)?.avatar_url;
  }

  /** What POST /_synapse/admin/v1/users/<id>/override_ratelimit with zeros does. */
  exemptFromRateLimits(userId: string): void {
    this.#limiter.exempt(userId);
  }

  // --- routes ------------------------------------------------------------------------------

  #routes(): Route[] {
    const r = (name: string, method: string, path: RegExp, handle: Route['handle']): Route => ({
      name,
      method,
      path,
      handle: (request, params) => this.#proxy(request) ?? handle(request, params),
    });
    return [
      r('server_version', 'GET', /^\/_synapse\/admin\/v1\/server_version$/, () =>
        json(200, { server_version: this.#opts.release === 'old' ? '1.67.0' : '1.157.1' })),
      r('whoami', 'GET', /^\/_matrix\/client\/(?:r0|v3)\/account\/whoami$/, (q) => this.#whoami(q)),
      r('media_config_v1', 'GET', /^\/_matrix\/client\/v1\/media\/config$/, (q) => this.#mediaConfig(q, true)),
      r('media_config', 'GET', /^\/_matrix\/media\/(?:r0|v3|v1)\/config$/, (q) => this.#mediaConfig(q, false)),
      r('upload', 'POST', /^\/_matrix\/media\/(?:r0|v3|v1)\/upload$/, (q) => this.#upload(q)),
      r('profile_put', 'PUT', /^\/_matrix\/client\/(?:r0|v3|api\/v1)\/profile\/([^/]+)\/avatar_url$/, (q, [u]) => this.#setAvatar(q, u!)),
      r('profile_get', 'GET', /^\/_matrix\/client\/(?:r0|v3|api\/v1)\/profile\/([^/]+)\/avatar_url$/, (_q, [u]) => this.#getAvatar(u!)),
      r('admin_users_list', 'GET', /^\/_synapse\/admin\/v2\/users$/, (q) => this.#listUsers(q)),
      r('admin_user_get', 'GET', /^\/_synapse\/admin\/v2\/users\/([^/]+)$/, (q, [u]) => this.#adminGet(q, u!)),
      r('admin_user_put', 'PUT', /^\/_synapse\/admin\/v2\/users\/([^/]+)$/, (q, [u]) => this.#adminPut(q, u!)),
      r('admin_override_ratelimit', 'POST', /^\/_synapse\/admin\/v1\/users\/([^/]+)\/override_ratelimit$/, (q, [u]) => this.#overrideRatelimit(q, u!)),
    ];
  }

  #unrouted(request: FakeRequest, methodAllowed: boolean): Reply {
    // 1.67 has no /_matrix/client/v1/media servlets and answered 400 there, not 404 (§8).
    if (!this.#opts.authenticatedMedia && request.path.startsWith('/_matrix/client/v1/media/')) {
      return matrixError(400, 'M_UNRECOGNIZED', 'Unrecognized request');
    }
    return matrixError(methodAllowed ? 404 : 405, 'M_UNRECOGNIZED', 'Unrecognized request');
  }

  #rateLimited(retryAfterMs: number): Reply {
    return {
      status: 429,
      ...(this.#opts.release === 'old' ? { statusMessage: 'Unknown Status' } : {}),
      json: errorBody('M_LIMIT_EXCEEDED', 'Too Many Requests', { retry_after_ms: retryAfterMs }),
      ...(this.#opts.retryAfterHeader ? { headers: { 'Retry-After': String(Math.ceil(retryAfterMs / 1000)) } } : {}),
    };
  }

  /** nginx in front: refuses big bodies before Synapse sees them, in HTML. */
  #proxy(request: FakeRequest): Reply | undefined {
    const limit = this.#opts.proxyMaxBodySize;
    const length = Number(request.headers['content-length'] ?? request.body.length);
    if (limit !== undefined && length > limit) {
      return { status: 413, headers: { 'Content-Type': 'text/html' }, body: NGINX_413 };
    }
    return undefined;
  }

  /** Synapse's get_user_by_req: the user behind the token, or the 401 to send. */
  #auth(request: FakeRequest): { user: string } | { reply: Reply } {
    const header = request.headers.authorization;
    const query = request.query.get('access_token');
    if (header !== undefined && query !== null) {
      return { reply: matrixError(401, 'M_MISSING_TOKEN', 'Mixing Authorization headers and access_token query parameters.') };
    }
    const token = header?.startsWith('Bearer ') ? header.slice(7) : query;
    if (!token) return { reply: matrixError(401, 'M_MISSING_TOKEN', 'Missing access token') };
    const user = this.#tokens.get(token);
    if (!user) return { reply: matrixError(401, 'M_UNKNOWN_TOKEN', 'Invalid access token passed.', { soft_logout: false }) };
    return { user };
  }

  /** assert_requester_is_admin (synapse/rest/admin/_base.py). */
  #admin(request: FakeRequest): { user: string } | { reply: Reply } {
    const auth = this.#auth(request);
    if ('reply' in auth) return auth;
    if (!this.users.get(auth.user)?.admin) return { reply: matrixError(403, 'M_FORBIDDEN', 'You are not a server admin') };
    return auth;
  }

  #isMine(userId: string): boolean {
    return userId.slice(userId.indexOf(':') + 1) === this.serverName;
  }

  #whoami(request: FakeRequest): Reply {
    const auth = this.#auth(request);
    if ('reply' in auth) return auth.reply;
    return json(200, { user_id: auth.user, is_guest: false, device_id: 'AVATARIMPORT' });
  }

  #mediaConfig(request: FakeRequest, authenticated: boolean): Reply {
    if (authenticated && !this.#opts.authenticatedMedia) return this.#unrouted(request, true);
    const auth = this.#auth(request);
    if ('reply' in auth) return auth.reply;
    return json(200, { 'm.upload.size': this.#opts.maxUploadSize });
  }

  #upload(request: FakeRequest): Reply | typeof RESET {
    const early = this.#media.beforeAuth(request);
    if (early) return early;
    const auth = this.#auth(request);
    if ('reply' in auth) return auth.reply;
    return this.#media.upload(request, auth.user);
  }

  async #setAvatar(request: FakeRequest, target: string): Promise<Reply> {
    const auth = this.#auth(request);
    if ('reply' in auth) return auth.reply;
    const body = parseBody(request.body);
    if (body === undefined) return matrixError(400, 'M_NOT_JSON', 'Content not JSON.');
    if (typeof body !== 'object' || body === null || !('avatar_url' in body)) {
      return matrixError(400, 'M_MISSING_PARAM', "Missing key 'avatar_url'");
    }
    // handlers/profile.py: set_avatar_url.
    if (!this.#isMine(target)) return matrixError(400, 'M_UNKNOWN', 'User is not hosted on this homeserver');
    const byAdmin = this.users.get(auth.user)?.admin ?? false;
    if (!byAdmin && target !== auth.user) return matrixError(400, 'M_FORBIDDEN', "Cannot set another user's avatar_url");
    const value = (body as { avatar_url: unknown }).avatar_url;
    if (typeof value !== 'string') return matrixError(400, 'M_INVALID_PARAM', "'avatar_url' must be a string");
    if (value.length > 1000) return matrixError(400, 'M_UNKNOWN', 'Avatar URL is too long (max 1000)');
    if (!this.#media.avatarAllowed(value, this.#opts.avatarRules)) return matrixError(403, 'M_FORBIDDEN', 'This avatar is not allowed');

    // The write: an upsert with no check that the user exists, or is not deactivated/erased.
    const profile = this.profiles.get(target) ?? { displayname: null, avatar_url: null };
    this.profiles.set(target, { ...profile, avatar_url: value === '' ? null : value });
    this.avatarWrites.push({ user: target, avatar_url: value === '' ? null : value });

    // _update_join_states: rate limited AFTER the write, on the target user's rc_message bucket.
    const wait = this.#limiter.isExempt(target) || this.#limiter.isExempt(auth.user) ? undefined : this.#limiter.take(target);
    if (wait !== undefined) {
      await pause(this.#opts.rateLimitPauseMs);
      return this.#rateLimited(wait);
    }
    return json(200, {});
  }

  #getAvatar(target: string): Reply {
    const profile = this.profiles.get(target);
    if (!profile) return matrixError(404, 'M_NOT_FOUND', 'Profile was not found');
    return json(200, { avatar_url: profile.avatar_url });
  }

  #adminGet(request: FakeRequest, target: string): Reply {
    const auth = this.#admin(request);
    if ('reply' in auth) return auth.reply;
    if (!this.#isMine(target)) return matrixError(400, 'M_UNKNOWN', 'Can only look up local users');
    const user = this.users.get(target);
    if (!user) return matrixError(404, 'M_NOT_FOUND', 'User not found');
    return json(200, adminUserObject(user, this.profiles.get(user.name), this.#opts));
  }

  /** "Create or modify account": creates missing users with 201. The importer must never call it. */
  #adminPut(request: FakeRequest, target: string): Reply {
    const auth = this.#admin(request);
    if ('reply' in auth) return auth.reply;
    if (!/^@[^:]+:.+$/.test(target)) return matrixError(400, 'M_INVALID_PARAM', 'Invalid user id');
    if (!this.#isMine(target)) return matrixError(400, 'M_UNKNOWN', 'This endpoint can only be used with local users');
    const body = parseBody(request.body);
    if (typeof body !== 'object' || body === null) return matrixError(400, 'M_NOT_JSON', 'Content not JSON.');
    const fields = body as Record<string, unknown>;
    let status = 200;
    if (!this.users.has(target)) {
      if (!/^[a-z0-9._=\-/+]+$/.test(localpart(target))) {
        return matrixError(400, 'M_INVALID_USERNAME', "User ID can only contain characters a-z, 0-9, or '=_-./+'");
      }
      this.addUser(target);
      status = 201;
    }
    const user = this.users.get(target)!;
    const profile = this.profiles.get(target) ?? { displayname: null, avatar_url: null };
    if ('avatar_url' in fields) profile.avatar_url = fields.avatar_url as string | null;
    if ('displayname' in fields) profile.displayname = fields.displayname as string | null;
    if ('admin' in fields) user.admin = Boolean(fields.admin);
    if ('deactivated' in fields) user.deactivated = Boolean(fields.deactivated);
    this.profiles.set(target, profile);
    return json(status, adminUserObject(user, this.profiles.get(user.name), this.#opts));
  }

  /** GET /_synapse/admin/v2/users: offset pagination, `next_token` only while more remain. */
  #listUsers(request: FakeRequest): Reply {
    const auth = this.#admin(request);
    if ('reply' in auth) return auth.reply;
    const int = (name: string, fallback: number): number | Reply => {
      const raw = request.query.get(name);
      if (raw === null) return fallback;
      if (!/^\d+$/.test(raw)) return matrixError(400, 'M_INVALID_PARAM', `Query parameter ${name} must be a string representing a positive integer.`);
      return Number(raw);
    };
    const bool = (name: string, fallback: boolean): boolean | Reply => {
      const raw = request.query.get(name);
      if (raw === null) return fallback;
      if (raw !== 'true' && raw !== 'false') return matrixError(400, 'M_INVALID_PARAM', `Boolean query parameter '${name}' must be one of ['true', 'false']`);
      return raw === 'true';
    };
    const from = int('from', 0);
    const limit = int('limit', 100);
    const guests = bool('guests', true);
    const deactivated = bool('deactivated', false);
    for (const v of [from, limit, guests, deactivated]) if (typeof v === 'object') return v;
    const contains = request.query.get('user_id') ?? request.query.get('name');
    const matching = [...this.users.values()]
      .filter((u) => (guests || !u.isGuest) && (deactivated || !u.deactivated) && (!contains || u.name.includes(contains)))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const start = from as number;
    const page = matching.slice(start, start + (limit as number));
    const users = page.map((u) => listEntry(u, this.profiles.get(u.name), this.#opts));
    const body: Record<string, unknown> = { users, total: matching.length };
    if (start + (limit as number) < matching.length) body.next_token = String(start + page.length);
    return json(200, body);
  }

  #overrideRatelimit(request: FakeRequest, target: string): Reply {
    const auth = this.#admin(request);
    if ('reply' in auth) return auth.reply;
    if (!this.users.has(target)) return matrixError(404, 'M_NOT_FOUND', 'User not found');
    const body = (parseBody(request.body) ?? {}) as { messages_per_second?: number; burst_count?: number };
    const mps = body.messages_per_second ?? 0;
    const burst = body.burst_count ?? 0;
    if (mps === 0 && burst === 0) this.#limiter.exempt(target);
    return json(200, { messages_per_second: mps, burst_count: burst });
  }
}

function localpart(userId: string): string {
  return userId.slice(1, userId.indexOf(':'));
}

function pause(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms).unref()) : Promise.resolve();
}
