// Users as the admin API shows them: GET/PUT /_synapse/admin/v2/users/<id> and the entries of
// the users list, in the shape of each release (1.67: 0/1 flags, list entries without
// avatar_url as in seed 003; 1.157: booleans, avatar_url listed).

export interface SynapseUser {
  name: string;
  admin: boolean;
  deactivated: boolean;
  erased: boolean;
  isGuest: boolean;
  creationMs: number;
}

export interface Profile {
  displayname: string | null;
  avatar_url: string | null;
}

export interface Shape {
  readonly release: 'old' | 'new';
  readonly integerFlags: boolean;
  readonly listIncludesAvatar: boolean;
}

const flags = (shape: Shape) => (value: boolean): boolean | number => (shape.integerFlags ? (value ? 1 : 0) : value);

export function adminUserObject(user: SynapseUser, profile: Profile | undefined, shape: Shape): Record<string, unknown> {
  const f = flags(shape);
  if (shape.release === 'old') {
    return {
      name: user.name, is_guest: f(user.isGuest), admin: f(user.admin), consent_version: null, consent_server_notice_sent: null,
      appservice_id: null, creation_ts: Math.floor(user.creationMs / 1000), user_type: null, deactivated: f(user.deactivated),
      shadow_banned: f(false), displayname: profile?.displayname ?? null, avatar_url: profile?.avatar_url ?? null,
      threepids: [], external_ids: [],
    };
  }
  return {
    name: user.name, user_type: null, is_guest: f(user.isGuest), admin: f(user.admin), deactivated: f(user.deactivated),
    erased: f(user.erased), shadow_banned: f(false), displayname: profile?.displayname ?? null, avatar_url: profile?.avatar_url ?? null,
    threepids: [], external_ids: [], creation_ts: user.creationMs, appservice_id: null, consent_server_notice_sent: null,
    consent_version: null, consent_ts: null, locked: f(false), suspended: f(false), last_seen_ts: null,
  };
}

export function listEntry(user: SynapseUser, profile: Profile | undefined, shape: Shape): Record<string, unknown> {
  const f = flags(shape);
  if (!shape.listIncludesAvatar) {
    // Seed 003's shape.
    return { name: user.name, password_hash: '$2b$12$fakefakefakefakefakefO', is_guest: f(user.isGuest), admin: f(user.admin), user_type: null, deactivated: f(user.deactivated) };
  }
  return {
    name: user.name, user_type: null, is_guest: f(user.isGuest), admin: f(user.admin), deactivated: f(user.deactivated), erased: f(user.erased),
    shadow_banned: f(false), displayname: profile?.displayname ?? null, avatar_url: profile?.avatar_url ?? null,
    creation_ts: user.creationMs, locked: f(false), last_seen_ts: null,
  };
}
