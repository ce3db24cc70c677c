// Users as the API shows them to a viewer (format_user_row): the email is the real one only when
// visible, else the dummy `user{id}@host`; delivery_email by email_address_visibility; avatar_url
// null for Gravatar users when the client computes Gravatars itself (client_gravatar).
import { createHash } from 'node:crypto';
import { avatarPath } from './avatar-files.js';
import { isAdmin, type ZulipUserState } from './state.js';

export function canSeeEmail(viewer: ZulipUserState, user: ZulipUserState): boolean {
  if (viewer.userId === user.userId || user.emailVisibility === 'everyone') return true;
  return user.emailVisibility === 'admins' && isAdmin(viewer);
}

export function userObject(user: ZulipUserState, viewer: ZulipUserState, clientGravatar: boolean, realm: { readonly host: string; readonly adminId: number; readonly s3Root?: string | undefined }): Record<string, unknown> {
  const visible = user.isBot || user.emailVisibility === 'everyone';
  return {
    email: visible ? user.email : `user${user.userId}@${realm.host}`,
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
    delivery_email: canSeeEmail(viewer, user) ? user.email : null,
    avatar_url: avatarUrl(user, clientGravatar, realm.s3Root),
    ...(user.isBot ? { bot_type: 1, bot_owner_id: realm.adminId } : {}),
    profile_data: {},
  };
}

/** On local storage a path under /user_avatars/ (relative); with the S3 backend an absolute URL in
 * the avatar bucket (`s3Root`), another host in real life. */
export function avatarUrl(user: ZulipUserState, clientGravatar: boolean, s3Root?: string): string | null {
  if (user.avatarSource === 'G') {
    if (clientGravatar) return null;
    const md5 = createHash('md5').update(user.email.toLowerCase()).digest('hex');
    return `https://secure.gravatar.com/avatar/${md5}?d=identicon&version=${user.avatarVersion}`;
  }
  const path = `${avatarPath(user.userId, user.avatarVersion)}.png`;
  return s3Root === undefined ? `/user_avatars/${path}` : `${s3Root}/${path}`;
}
