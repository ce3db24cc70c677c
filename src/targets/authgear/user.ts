// One Authgear user as the importer reads it (the fields every query selects), checked once where
// an answer is read, and whether the tool may touch them.
import { RowError } from '../../errors.js';
import type { StandardAttributes } from './attributes.js';

/** One user as the importer reads it. */
export interface AuthgearUser {
  /** The node ID (base64url of `User:<uuid>`). */
  readonly id: string;
  readonly isDisabled: boolean;
  readonly isDeactivated: boolean;
  readonly isAnonymized: boolean;
  readonly updatedAt: string;
  /** As read: derived keys included, picture in its https form. */
  readonly standardAttributes: StandardAttributes;
}

export const USER_FIELDS = 'id isDisabled isDeactivated isAnonymized updatedAt standardAttributes';

export function toUser(value: unknown, what: string): AuthgearUser {
  const u = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const attrs = u.standardAttributes;
  if (typeof u.id !== 'string' || typeof attrs !== 'object' || attrs === null || Array.isArray(attrs)) {
    throw new RowError('target_error', `${what}: the answer has a user without id or standardAttributes`);
  }
  return {
    id: u.id,
    isDisabled: u.isDisabled === true,
    isDeactivated: u.isDeactivated === true,
    isAnonymized: u.isAnonymized === true,
    updatedAt: typeof u.updatedAt === 'string' ? u.updatedAt : '',
    standardAttributes: attrs as StandardAttributes,
  };
}

/** Why a user is left untouched, or undefined when they are active. */
export function inactive(user: AuthgearUser): string | undefined {
  if (user.isAnonymized) return 'anonymized';
  if (user.isDeactivated) return 'deactivated';
  if (user.isDisabled) return 'disabled';
  return undefined;
}
