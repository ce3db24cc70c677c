// The Zulip calls the target makes, typed, each one request through an endpoint (so paced and
// classified). Which endpoint decides whose bucket and whose refusal it is: the anonymous one
// (server_settings, jwt/fetch_api_key), the administrator's (discovery) or one user's own (the
// upload). Every authenticated call carries its Authorization header explicitly: there is no
// "current user" in this module that a call could pick up by mistake.
import { randomBytes } from 'node:crypto';
import { RowError } from '../../errors.js';
import type { Endpoint } from '../../net/endpoint.js';
import type { HttpResponse } from '../../net/http.js';
import { JWT_FETCH_PATH, UPLOAD_PATH, zulipError } from './errors.js';

/** A user as `GET /users`, `/users/{email}` and `/users/me` describe them (format_user_row). */
export interface ZulipUser {
  readonly userId: number;
  /** May be a dummy `user{id}@host` when the organisation hides emails. */
  readonly email: string;
  /** The real address: what Basic auth and JWT match on. null when hidden even from admins. */
  readonly deliveryEmail: string | null;
  readonly isActive: boolean;
  readonly isBot: boolean;
  /** Owners and administrators may change their avatar in restricted organisations. */
  readonly isAdmin: boolean;
  readonly avatarVersion?: number;
  readonly avatarUrl?: string | null;
}

export interface ServerSettings {
  readonly version: string;
  /** 0 for servers before 3.0, which do not report one. */
  readonly featureLevel: number;
}

export interface RealmSettings {
  readonly maxAvatarFileSizeMib?: number;
  readonly avatarChangesDisabled: boolean;
  /** realm_default_avatar_source (FL 456, Zulip 12.0): `J` (Jdenticon, served from /user_avatars/
   * like an upload) or `G` (Gravatar). Absent on older servers, whose default is Gravatar. */
  readonly defaultAvatarSource?: string;
  readonly queueId?: string;
}

/** Where a request is made as someone: the Basic header for their email and key. */
export interface Auth {
  readonly authorization: string;
}

export const API = '/api/v1';

export class ZulipApi {
  constructor(private readonly endpoint: Endpoint) {}

  async serverSettings(): Promise<ServerSettings> {
    const res = await this.endpoint.send({ method: 'GET', path: `${API}/server_settings`, what: 'read server_settings' });
    const body = object(res, 'server_settings');
    if (body.result !== 'success' || typeof body.zulip_version !== 'string') {
      throw new RowError('target_error', 'server_settings: the answer is not a Zulip server_settings object');
    }
    return { version: body.zulip_version, featureLevel: typeof body.zulip_feature_level === 'number' ? body.zulip_feature_level : 0 };
  }

  /** POST /register for the realm settings only; it allocates an event queue (see deleteQueue). */
  async realmSettings(auth: Auth): Promise<RealmSettings> {
    const res = await this.endpoint.send({
      method: 'POST',
      path: `${API}/register`,
      ...form({ fetch_event_types: JSON.stringify(['realm']) }, auth),
      idempotent: true,
      what: 'read the organisation settings (register)',
    });
    const body = object(res, 'register');
    const mib = body.max_avatar_file_size_mib;
    return {
      ...(typeof mib === 'number' && mib > 0 ? { maxAvatarFileSizeMib: mib } : {}),
      avatarChangesDisabled: body.server_avatar_changes_disabled === true || body.realm_avatar_changes_disabled === true,
      ...(typeof body.realm_default_avatar_source === 'string' ? { defaultAvatarSource: body.realm_default_avatar_source } : {}),
      ...(typeof body.queue_id === 'string' ? { queueId: body.queue_id } : {}),
    };
  }

  async deleteQueue(auth: Auth, queueId: string): Promise<void> {
    await this.endpoint.send({ method: 'DELETE', path: `${API}/events`, searchParams: { queue_id: queueId }, headers: { authorization: auth.authorization }, expect: [400], what: 'delete the event queue' });
  }

  /** Everyone in the organisation, deactivated users and bots included. */
  async users(auth: Auth): Promise<ZulipUser[]> {
    const res = await this.endpoint.send({
      method: 'GET',
      path: `${API}/users`,
      // Since FL 92 the default is true, which hides Gravatar users' avatar_url (§9).
      searchParams: { client_gravatar: false },
      headers: { authorization: auth.authorization },
      what: 'list users',
    });
    const members = object(res, 'list users').members;
    if (!Array.isArray(members)) throw new RowError('target_error', 'list users: the answer has no members array');
    return members.map(toUser).filter((u): u is ZulipUser => u !== undefined);
  }

  /** One user by (delivery) email, as the caller may see them; undefined when there is none. */
  async user(auth: Auth, email: string): Promise<ZulipUser | undefined> {
    const res = await this.endpoint.send({
      method: 'GET',
      path: `${API}/users/${encodeURIComponent(email)}`,
      searchParams: { client_gravatar: false },
      headers: { authorization: auth.authorization },
      expect: [400],
      what: `look up ${email}`,
    });
    // 400 BAD_REQUEST "No such user" (also for emails hidden from the caller).
    if (res.status === 400) {
      if (zulipError(res).code === 'BAD_REQUEST') return undefined;
      throw new RowError('target_error', `look up ${email}: HTTP 400 ${zulipError(res).code ?? ''}`);
    }
    const user = toUser(object(res, `look up ${email}`).user);
    if (!user) throw new RowError('target_error', `look up ${email}: the answer has no user`);
    return user;
  }

  /** The account a key belongs to. */
  async me(auth: Auth, what: string): Promise<ZulipUser> {
    const res = await this.endpoint.send({ method: 'GET', path: `${API}/users/me`, headers: { authorization: auth.authorization }, what });
    const user = toUser(object(res, what));
    if (!user) throw new RowError('target_error', `${what}: the answer is not a user`);
    return user;
  }

  /** jwt/fetch_api_key (FL 160): the key of the user the token names. Every success sends the
   * user a "new login" email, yet it is re-sent after a lost answer: failing the row instead only
   * moves that second email to the next run, and leaves the row undone (the fault soak found
   * ~7 % of rows failing there at 10 % faults). The key itself does not change. */
  async fetchApiKey(token: string, email: string): Promise<string> {
    const res = await this.endpoint.send({ method: 'POST', path: JWT_FETCH_PATH, ...form({ token }), idempotent: true, what: `fetch the API key of ${email} (JWT)` });
    const key = object(res, 'jwt/fetch_api_key').api_key;
    if (typeof key !== 'string' || key === '') throw new RowError('target_error', `fetch the API key of ${email}: the answer has no api_key`);
    return key;
  }

  /** POST /users/me/avatar as the key's owner: multipart with exactly one part, named and typed
   * both (§1: servers differ on which of the two they read; an import sends `avatar.jpg`,
   * image/jpeg). Not idempotent: every upload bumps avatar_version and notifies the organisation. */
  async upload(auth: Auth, file: UploadFile, options: { idempotent: boolean; what: string }): Promise<string | undefined> {
    const boundary = `avatar-import-${randomBytes(12).toString('hex')}`;
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.filename}"\r\nContent-Type: ${file.contentType}\r\n\r\n`),
      file.bytes,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const res = await this.endpoint.send({
      method: 'POST',
      path: UPLOAD_PATH,
      headers: { authorization: auth.authorization, 'content-type': `multipart/form-data; boundary=${boundary}` },
      body,
      idempotent: options.idempotent,
      what: options.what,
    });
    const url = object(res, options.what).avatar_url;
    return typeof url === 'string' ? url : undefined;
  }

  /** DELETE /users/me/avatar as the key's owner (§2): back to the organisation's default avatar.
   * Returns the avatar_url the server then reports. From Zulip 12.0 (FL 443) it changes nothing
   * unless the avatar was uploaded; before, every call bumped avatar_version and notified everyone,
   * so callers only send it for an uploaded avatar. Re-sending is harmless either way: the second
   * call finds a default avatar (12.0) or sets the same default again. */
  async deleteAvatar(auth: Auth, what: string): Promise<string | undefined> {
    const res = await this.endpoint.send({ method: 'DELETE', path: UPLOAD_PATH, headers: { authorization: auth.authorization }, idempotent: true, what });
    const url = object(res, what).avatar_url;
    return typeof url === 'string' ? url : undefined;
  }

  /**
   * The image an avatar URL serves, for keeping before it is replaced. Zulip serves /user_avatars/
   * without authentication (the path is a salted hash: serve_local_avatar_unauthed), and on S3 the
   * URL is absolute, on another host: no credential is ever sent with this request. A server on S3
   * answers /user_avatars/ with a permanent redirect, followed once. Undefined when the file is not
   * there: 404, or S3's 403 AccessDenied for a missing key in a bucket that cannot be listed.
   */
  async download(url: string, what: string): Promise<Buffer | undefined> {
    let target = url;
    for (let hop = 0; hop < 2; hop++) {
      const res = await this.endpoint.send({ method: 'GET', path: target, headers: { accept: 'image/*' }, expect: [301, 302, 307, 308, 403, 404], what });
      if (res.status === 404 || res.status === 403) return undefined;
      if (res.status < 300) return res.body;
      const location = res.headers.location;
      if (typeof location !== 'string' || hop > 0) break;
      const next = new URL(location, target);
      if (next.protocol !== 'https:' && next.protocol !== 'http:') break;
      target = next.href;
    }
    throw new RowError('backup_failed', `${what}: ${url} redirects more than once, or nowhere`);
  }
}

/** One file for POST /users/me/avatar. */
export interface UploadFile {
  readonly bytes: Buffer;
  /** `avatar.jpg`, `avatar.png` …: 11.x guesses the type from this name (§1). */
  readonly filename: string;
  readonly contentType: string;
}

function form(params: Record<string, string>, auth?: Auth): { body: Buffer; headers: Record<string, string> } {
  return {
    body: Buffer.from(new URLSearchParams(params).toString()),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(auth ? { authorization: auth.authorization } : {}) },
  };
}

function object(res: HttpResponse, what: string): Record<string, unknown> {
  const body = res.json();
  if (typeof body !== 'object' || body === null) throw new RowError('target_error', `${what}: HTTP ${res.status} without a JSON body`);
  return body as Record<string, unknown>;
}

const ADMIN_ROLES = new Set([100, 200]); // owner, administrator

function toUser(entry: unknown): ZulipUser | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const e = entry as Record<string, unknown>;
  if (typeof e.user_id !== 'number' || typeof e.email !== 'string') return undefined;
  const delivery = e.delivery_email;
  return {
    userId: e.user_id,
    email: e.email,
    // Servers before delivery_email existed only had `email`, and it was the real one.
    deliveryEmail: typeof delivery === 'string' ? delivery : 'delivery_email' in e ? null : e.email,
    isActive: e.is_active !== false,
    isBot: e.is_bot === true,
    isAdmin: typeof e.role === 'number' ? ADMIN_ROLES.has(e.role) : e.is_admin === true || e.is_owner === true,
    ...(typeof e.avatar_version === 'number' ? { avatarVersion: e.avatar_version } : {}),
    ...('avatar_url' in e ? { avatarUrl: typeof e.avatar_url === 'string' ? e.avatar_url : null } : {}),
  };
}
