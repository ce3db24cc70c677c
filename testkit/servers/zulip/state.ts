// What a Zulip realm holds for the fake: its users as the server stores them, and a record of
// every avatar upload it accepted.

export type Role = 100 | 200 | 300 | 400 | 600; // owner, administrator, moderator, member, guest
export type EmailVisibility = 'everyone' | 'admins' | 'nobody';

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

export function isAdmin(user: ZulipUserState): boolean {
  return user.role === 100 || user.role === 200;
}
