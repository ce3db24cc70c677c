// The Admin API JWT (contract notes §1.2–1.3): RS256 over the portal's PKCS#8 key, `kid` and
// `typ: JWT` in the header, `aud` = the project ID, `iat`, `exp` five minutes ahead and an
// `audit_context` naming the tool and the run, so Authgear's audit log shows which run changed what.
// The http layer asks for the token per request (`current`), and signing is async, so callers
// `fresh()` it before a request: a token with less than `refreshMs` left is replaced first. Every
// token minted is registered with the logger as a secret before anyone can see it.
import { SignJWT, type CryptoKey } from 'jose';
import type { Logger } from '../../log.js';

export const TOOL = 'avatar-import';
/** What the portal's temporary token, the docs and Authgear's own internal signer use. */
export const TOKEN_LIFETIME_MS = 5 * 60_000;
/** Re-minted with a minute to spare: the server allows no slack we want to rely on. */
export const REFRESH_MS = 60_000;

export interface TokenOptions {
  readonly privateKey: CryptoKey;
  readonly keyId: string;
  readonly projectId: string;
  readonly runId: string;
  readonly log: Logger;
  /** Wall clock, epoch ms (the JWT's iat/exp are wall-clock times). */
  readonly now?: () => number;
  readonly lifetimeMs?: number;
  readonly refreshMs?: number;
}

interface Minted {
  readonly token: string;
  readonly expiresAt: number;
}

export class AdminToken {
  #minted?: Minted;
  #pending?: Promise<Minted>;
  /** Tokens signed so far (for tests and the debug log). */
  minted = 0;
  readonly #now: () => number;
  readonly #lifetimeMs: number;
  readonly #refreshMs: number;

  constructor(private readonly options: TokenOptions) {
    this.#now = options.now ?? Date.now;
    this.#lifetimeMs = options.lifetimeMs ?? TOKEN_LIFETIME_MS;
    this.#refreshMs = Math.min(options.refreshMs ?? REFRESH_MS, this.#lifetimeMs / 2);
  }

  /** The token to send now (the http layer's `bearer`). */
  get current(): string | undefined {
    return this.#minted?.token;
  }

  /** A token with at least `refreshMs` left, minting one if needed. Concurrent callers share
   * one signing. */
  async fresh(): Promise<string> {
    const minted = this.#minted;
    if (minted && minted.expiresAt - this.#now() > this.#refreshMs) return minted.token;
    return (await this.#mint()).token;
  }

  /** The server refused `token`: replace it, unless another caller already did. */
  async renew(token: string | undefined): Promise<string> {
    if (this.#minted && this.#minted.token !== token) return this.#minted.token;
    this.#minted = undefined;
    return (await this.#mint()).token;
  }

  #mint(): Promise<Minted> {
    this.#pending ??= this.#sign().finally(() => (this.#pending = undefined));
    return this.#pending;
  }

  async #sign(): Promise<Minted> {
    const { privateKey, keyId, projectId, runId, log } = this.options;
    const now = this.#now();
    const iat = Math.floor(now / 1000);
    const exp = Math.floor((now + this.#lifetimeMs) / 1000);
    const token = await new SignJWT({ audit_context: { tool: TOOL, run_id: runId } })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: keyId })
      .setAudience(projectId)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(privateKey);
    log.addSecret(token);
    this.minted++;
    this.#minted = { token, expiresAt: exp * 1000 };
    log.debug(`authgear: signed an Admin API token (kid ${keyId}, valid until ${new Date(exp * 1000).toISOString()})`);
    return this.#minted;
  }
}
