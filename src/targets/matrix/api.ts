// The Synapse calls the target makes, typed, each one request through the target's endpoint (so
// paced and classified). Bodies are read defensively: 1.67 sends 0/1 flags where 1.157 sends
// booleans, old list entries carry no avatar_url, and any field may be missing.
import { FatalError, RowError } from '../../errors.js';
import type { Endpoint } from '../../net/endpoint.js';
import type { HttpResponse } from '../../net/http.js';
import { matrixError } from './errors.js';

export interface SynapseAccount {
  readonly name: string;
  readonly deactivated: boolean;
  readonly erased: boolean;
  /** undefined when the entry did not say (old list-accounts entries), null when none is set. */
  readonly avatarUrl: string | null | undefined;
}

export interface AccountPage {
  readonly accounts: SynapseAccount[];
  readonly nextToken?: string;
}

const user = (id: string) => encodeURIComponent(id);

export class SynapseApi {
  constructor(private readonly endpoint: Endpoint) {}

  async serverVersion(): Promise<string> {
    const res = await this.endpoint.send({ method: 'GET', path: '/_synapse/admin/v1/server_version', what: 'read the Synapse version' });
    const version = field(res, 'server_version');
    if (typeof version !== 'string') throw new RowError('target_error', 'server_version: the answer has no server_version');
    return version;
  }

  async whoami(): Promise<string> {
    const res = await this.endpoint.send({ method: 'GET', path: '/_matrix/client/v3/account/whoami', what: 'check the access token (whoami)' });
    const id = field(res, 'user_id');
    if (typeof id !== 'string') throw new RowError('target_error', 'whoami: the answer has no user_id');
    return id;
  }

  /** m.upload.size from the authenticated-media config, falling back to the legacy one on servers
   * before 1.111 (which answer 404, or 400 on 1.67, with M_UNRECOGNIZED). */
  async uploadSizeLimit(): Promise<number | undefined> {
    const what = 'read the media config';
    let res = await this.endpoint.send({ method: 'GET', path: '/_matrix/client/v1/media/config', expect: [400, 404], what });
    if (res.status !== 200) res = await this.endpoint.send({ method: 'GET', path: '/_matrix/media/v3/config', what });
    const size = field(res, 'm.upload.size');
    return typeof size === 'number' && size > 0 ? size : undefined;
  }

  /** The admin view of one account; undefined when there is no such user. */
  async account(id: string): Promise<SynapseAccount | undefined> {
    const res = await this.endpoint.send({ method: 'GET', path: `/_synapse/admin/v2/users/${user(id)}`, expect: [404], what: `look up ${id}` });
    if (res.status === 404) {
      if (matrixError(res).errcode === 'M_NOT_FOUND') return undefined;
      throw new FatalError('unsupported_server', `look up ${id}: HTTP 404 without M_NOT_FOUND: is /_synapse/admin routed to Synapse?`);
    }
    return toAccount(res.json());
  }

  /** One page of the list-accounts API, deactivated accounts included so that they are reported
   * as such rather than as missing. */
  async accounts(from: string, limit: number): Promise<AccountPage> {
    const res = await this.endpoint.send({
      method: 'GET',
      path: '/_synapse/admin/v2/users',
      searchParams: { from, limit, deactivated: true },
      what: 'list accounts',
    });
    const body = res.json() as { users?: unknown; next_token?: unknown } | undefined;
    if (!Array.isArray(body?.users)) throw new RowError('target_error', 'list accounts: the answer has no users array');
    const accounts = body.users.map(toAccount).filter((a): a is SynapseAccount => a !== undefined);
    const next = body.next_token;
    return { accounts, ...(typeof next === 'string' || typeof next === 'number' ? { nextToken: String(next) } : {}) };
  }

  /** POST /_matrix/media/v3/upload with a Buffer (Synapse requires Content-Length) and no multipart.
   * Re-sending after an ambiguous failure costs at most an orphaned media item, so it is idempotent. */
  async upload(jpeg: Buffer, filename: string): Promise<string> {
    const res = await this.endpoint.send({
      method: 'POST',
      path: '/_matrix/media/v3/upload',
      searchParams: { filename },
      headers: { 'content-type': 'image/jpeg' },
      body: jpeg,
      idempotent: true,
      what: `upload ${filename}`,
    });
    const uri = field(res, 'content_uri');
    if (typeof uri !== 'string' || !uri.startsWith('mxc://')) throw new RowError('target_error', `upload ${filename}: the answer has no mxc content_uri`);
    return uri;
  }

  /** The client profile PUT: it can never create an account (the admin v2 PUT would). */
  async setAvatar(id: string, mxc: string, options: { idempotent: boolean }): Promise<void> {
    await this.endpoint.send({
      method: 'PUT',
      path: `/_matrix/client/v3/profile/${user(id)}/avatar_url`,
      json: { avatar_url: mxc },
      idempotent: options.idempotent,
      what: `set the avatar of ${id}`,
    });
  }
}

function field(res: HttpResponse, name: string): unknown {
  const body = res.json();
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
}

/** 1.67 sends 0/1, newer releases booleans. */
const flag = (value: unknown): boolean => value === true || value === 1;

function toAccount(entry: unknown): SynapseAccount | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const e = entry as Record<string, unknown>;
  if (typeof e.name !== 'string') return undefined;
  const avatar = e.avatar_url;
  return {
    name: e.name,
    deactivated: flag(e.deactivated),
    erased: flag(e.erased),
    avatarUrl: typeof avatar === 'string' && avatar !== '' ? avatar : 'avatar_url' in e ? null : undefined,
  };
}
