// Where each user's own API key comes from. Keys are looked up by the row's email and by nothing
// else, and every key is confirmed against the server (target.ts) before it is used: a key that
// belongs to someone else can fail a row, never change the wrong avatar.
import { SignJWT } from 'jose';
import type { Logger } from '../../log.js';
import type { ZulipApi } from './api.js';
import type { KeyCache } from './key-cache.js';
import type { AdminCredential, KeyMode } from './options.js';

export interface UserCredential {
  /** The address the key is used with (Basic auth matches it against delivery_email). */
  readonly email: string;
  readonly key: string;
  /** 'cache' and 'minted' keys can be fetched again after a 401; the others cannot. */
  readonly origin: 'credentials' | 'admin' | 'cache' | 'minted';
}

/** Minted tokens live this long: long enough for a server whose clock runs a few minutes ahead,
 * short enough that a token seen in transit is soon useless. No `iat`/`nbf`: PyJWT refuses those
 * when the server's clock is behind ours. */
const TOKEN_LIFETIME = '5m';

export class KeySource {
  readonly #inFlight = new Map<string, Promise<UserCredential>>();

  constructor(
    private readonly mode: KeyMode,
    private readonly admin: AdminCredential,
    private readonly deps: { readonly anonymous: ZulipApi; readonly cache?: KeyCache; readonly log: Logger },
  ) {}

  get refetchable(): boolean {
    return this.mode.kind === 'jwt';
  }

  /** Whether a key can be had for this email at all (checked in resolve, before any image work). */
  has(email: string): boolean {
    return this.mode.kind === 'jwt' || this.#isAdmin(email) || this.mode.keys.has(email.toLowerCase());
  }

  /** The user's key: from --credentials, the admin's own for the admin's row, the cache, or minted. */
  async get(email: string): Promise<UserCredential | undefined> {
    // The administrator's key is that account's own: no need to mint (and email) anything.
    if (this.#isAdmin(email)) return { email, key: this.admin.key, origin: 'admin' };
    if (this.mode.kind === 'credentials') {
      const entry = this.mode.keys.get(email.toLowerCase());
      return entry && { email, key: entry.key, origin: 'credentials' };
    }
    const cached = this.deps.cache?.get(email);
    if (cached !== undefined) return { email, key: cached, origin: 'cache' };
    return this.#fetch(email);
  }

  /** After a 401 on a cached key: forget it and fetch a fresh one (JWT only). */
  async refetch(email: string): Promise<UserCredential | undefined> {
    if (this.mode.kind !== 'jwt' || this.#isAdmin(email)) return undefined;
    await this.deps.cache?.drop(email);
    return this.#fetch(email);
  }

  /** A key that was refused even when fresh is not kept for the next run. */
  async forget(email: string): Promise<void> {
    if (this.mode.kind === 'jwt') await this.deps.cache?.drop(email);
  }

  #isAdmin(email: string): boolean {
    return email.toLowerCase() === this.admin.email.toLowerCase();
  }

  #fetch(email: string): Promise<UserCredential> {
    const id = email.toLowerCase();
    let pending = this.#inFlight.get(id);
    if (!pending) {
      pending = this.#mint(email).finally(() => this.#inFlight.delete(id));
      this.#inFlight.set(id, pending);
    }
    return pending;
  }

  async #mint(email: string): Promise<UserCredential> {
    if (this.mode.kind !== 'jwt') throw new Error('zulip: keys are only minted with --jwt-key-file');
    const token = await new SignJWT({ email })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setExpirationTime(TOKEN_LIFETIME)
      .sign(new TextEncoder().encode(this.mode.secret));
    this.deps.log.addSecret(token);
    const key = await this.deps.anonymous.fetchApiKey(token, email);
    this.deps.log.addSecret(key);
    await this.deps.cache?.set(email, key);
    return { email, key, origin: 'minted' };
  }
}
