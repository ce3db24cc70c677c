// The Admin API's authz middleware (pkg/lib/admin/authz/middleware.go): a Bearer JWT whose kid
// names one of the project's keys, RS256, aud = project ID, exp/iat within jwx's skew.
import { createPublicKey, generateKeyPairSync, randomUUID, verify as verifySignature, type KeyObject } from 'node:crypto';
import type { FakeRequest } from '../harness.js';

export interface SeenToken {
  readonly token: string;
  readonly header: Record<string, unknown>;
  readonly claims: Record<string, unknown>;
}

/** A PKCS#8 RSA-2048 key as the portal generates it. */
export function generateKey(): { privateKeyPem: string } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

export class AdminKeys {
  readonly #keys = new Map<string, KeyObject>();

  constructor(private readonly options: { readonly projectId: string; readonly now: () => number; readonly skewSeconds: number }) {}

  /** Another active key; returns its id. */
  add(privateKeyPem: string): string {
    const keyId = randomUUID();
    this.#keys.set(keyId, createPublicKey(privateKeyPem));
    return keyId;
  }

  revoke(keyId: string): void {
    this.#keys.delete(keyId);
  }

  /** The token that passed, or undefined for the middleware's 403. */
  check(request: FakeRequest): SeenToken | undefined {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer (.*)$/.exec(header) : null;
    if (!match) return undefined;
    const token = match[1]!;
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    let head: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      head = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      return undefined;
    }
    if (typeof head !== 'object' || head === null || typeof claims !== 'object' || claims === null) return undefined;
    // jwx with a key set: the kid must name one of the keys, the alg must be the key's (RS256).
    const key = typeof head.kid === 'string' ? this.#keys.get(head.kid) : undefined;
    if (!key || head.alg !== 'RS256') return undefined;
    if (!verifySignature('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), key, Buffer.from(parts[2]!, 'base64url'))) return undefined;
    const aud = claims.aud;
    const projectId = this.options.projectId;
    if (!(aud === projectId || (Array.isArray(aud) && aud.includes(projectId)))) return undefined;
    // The real server checks exp and iat only when present; a token without them is refused here,
    // since the importer must always send both.
    const now = this.options.now() / 1000;
    const skew = this.options.skewSeconds;
    if (typeof claims.exp !== 'number' || now > claims.exp + skew) return undefined;
    if (typeof claims.iat !== 'number' || claims.iat > now + skew) return undefined;
    return { token, header: head, claims };
  }
}
