// The project's users as Authgear stores them, and what the Admin API's user operations do to
// them: lookups by standard attribute (pkg/lib/facade/coordinator.go), updateUser's
// replace-everything semantics (pkg/admin/facade/user_profile.go → stdattrs → user store) and the
// read form of standardAttributes (derived keys, picture as https).
import { FieldError } from './executor.js';
import { DERIVED, validateStandardAttributes } from './standard-attributes.js';

export interface Identity {
  readonly kind: 'login_id' | 'oauth';
  readonly email?: string;
  readonly phone_number?: string;
  readonly preferred_username?: string;
  readonly verified?: boolean;
}

export interface FakeUser {
  readonly uuid: string;
  /** Storage form: no derived keys, picture as stored (authgearimages:/// or a URL). */
  standard: Record<string, unknown>;
  custom: Record<string, unknown>;
  identities: Identity[];
  disabled: boolean;
  deactivated: boolean;
  anonymized: boolean;
  readonly createdAt: number;
  updatedAt: number;
}

/** What a blocking hook does to user.profile.pre_update. */
export interface Hook {
  /** Refuse every profile update (Forbidden/HookDisallowed). */
  readonly reject?: boolean;
  /** A server that does not keep what it was sent: alters the attributes before storing them. */
  readonly alter?: (attributes: Record<string, unknown>) => Record<string, unknown>;
}

export const IDENTITY_AWARE = ['email', 'phone_number', 'preferred_username'] as const;
type IdentityAware = (typeof IDENTITY_AWARE)[number];

export const nodeId = (uuid: string): string => Buffer.from(`User:${uuid}`).toString('base64url');

/** base64url without padding of `User:<uuid>`; anything else is not a user node ID. */
export function decodeNodeId(id: string): string | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(id)) return undefined;
  const m = /^User:([0-9a-f-]{36})$/.exec(Buffer.from(id, 'base64url').toString('utf8'));
  return m?.[1];
}

export interface DirectoryOptions {
  readonly now: () => number;
  /** IMAGES_CDN_HOST: the host the picture reads back with. Default: the request's host. */
  readonly imagesCdnHost?: string | undefined;
  /** The hook in force when an update runs (tests swap it). */
  readonly hook: () => Hook;
}

export class UserDirectory {
  readonly users = new Map<string, FakeUser>();
  /** The `input` of every updateUser that was executed (also those rolled back). */
  readonly updates: Record<string, unknown>[] = [];
  /** The identities table's claim index: `email\0ana@acme.example` → user uuids (ListByClaim). */
  readonly #byClaim = new Map<string, Set<string>>();
  /** Users as they were before the running request changed them, for its rollback. */
  #journal: Map<string, FakeUser> | undefined;

  constructor(private readonly options: DirectoryOptions) {}

  add(user: FakeUser): void {
    populateIdentityAware(user.standard, user.identities);
    this.users.set(user.uuid, user);
    for (const identity of user.identities) {
      for (const key of IDENTITY_AWARE) {
        const claim = identity[key];
        const normalised = claim === undefined ? undefined : normalise(key, claim);
        if (normalised === undefined) continue;
        const index = `${key}\0${normalised}`;
        this.#byClaim.set(index, (this.#byClaim.get(index) ?? new Set()).add(user.uuid));
      }
    }
  }

  byNodeId(id: string): FakeUser | undefined {
    const uuid = decodeNodeId(id);
    return uuid === undefined ? undefined : this.users.get(uuid);
  }

  /** GetUsersByStandardAttribute: normalised, matched against identity claims (login ID and OAuth), 0..n users. */
  getUsersByStandardAttribute(name: string, value: string): FakeUser[] {
    if (!(IDENTITY_AWARE as readonly string[]).includes(name)) {
      throw new FieldError('attributeName must be email, phone_number or preferred_username', 'Invalid', 'GetUsersInvalidArgument');
    }
    const normalised = normalise(name as IdentityAware, value);
    if (normalised === undefined) throw new FieldError('invalid attributeValue', 'Invalid', 'GetUsersInvalidArgument');
    const found = [...(this.#byClaim.get(`${name}\0${normalised}`) ?? [])].map((uuid) => this.users.get(uuid));
    return found.filter((u): u is FakeUser => u !== undefined);
  }

  /** pkg/admin/graphql/user_mutation.go → facade → stdattrs service → user store. */
  updateUser(input: unknown, host: string): FakeUser {
    if (typeof input !== 'object' || input === null) throw new FieldError('invalid input', 'Invalid', 'Invalid');
    this.updates.push(input as Record<string, unknown>);
    const { userID, standardAttributes, customAttributes } = input as Record<string, unknown>;
    const uuid = typeof userID === 'string' ? decodeNodeId(userID) : undefined;
    if (uuid === undefined) throw new FieldError('invalid user ID', 'Invalid', 'Invalid');
    const user = this.users.get(uuid);
    if (!user) throw new FieldError('user not found', 'NotFound', 'UserNotFound');
    if (user.anonymized) throw new FieldError('user is anonymized', 'Invalid', 'UserIsAnonymized');

    let standard: Record<string, unknown> | undefined;
    if (standardAttributes !== undefined && standardAttributes !== null) {
      if (typeof standardAttributes !== 'object' || Array.isArray(standardAttributes)) {
        throw new FieldError('invalid value', 'Invalid', 'ValidationFailed', { causes: [{ location: '', kind: 'type', details: { actual: ['array'], expected: ['object'] } }] });
      }
      // WithDerivedAttributesRemoved, then the JSON schema (additionalProperties: false).
      const attrs: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(standardAttributes)) if (!DERIVED.includes(k)) attrs[k] = v;
      const causes = validateStandardAttributes(attrs);
      if (causes.length > 0) throw new FieldError('invalid value', 'Invalid', 'ValidationFailed', { causes });
      // An identity-aware value the user's identities do not own is a plain Go error.
      for (const key of IDENTITY_AWARE) {
        if (attrs[key] !== undefined && !user.identities.some((i) => i[key] !== undefined && normalise(key, i[key]!) === normalise(key, String(attrs[key])))) {
          throw new FieldError('unexpected error');
        }
      }
      populateIdentityAware(attrs, user.identities);
      if (typeof attrs.picture === 'string') attrs.picture = this.#storageForm(attrs.picture, host);
      standard = attrs;
    }
    let custom: Record<string, unknown> | undefined;
    if (customAttributes !== undefined && customAttributes !== null) {
      if (typeof customAttributes !== 'object' || Array.isArray(customAttributes)) throw new FieldError('invalid value', 'Invalid', 'ValidationFailed');
      custom = { ...(customAttributes as Record<string, unknown>) };
    }
    // The blocking hook user.profile.pre_update.
    const hook = this.options.hook();
    if (hook.reject) {
      throw new FieldError('disallowed by web-hook event handler', 'Forbidden', 'HookDisallowed', { reasons: [{ title: 'profile locked', reason: 'changes are made in the HR system' }] });
    }
    if (this.#journal && !this.#journal.has(user.uuid)) this.#journal.set(user.uuid, structuredClone(user));
    if (standard) user.standard = hook.alter ? hook.alter({ ...standard }) : standard;
    if (custom) user.custom = custom; // {} wipes them all (UpdateAllCustomAttributes)
    user.updatedAt = Math.max(this.options.now(), user.updatedAt + 1);
    return user;
  }

  /** The GraphQL User object, read through `host`. */
  userObject(user: FakeUser, host: string): Record<string, unknown> {
    return {
      __typename: 'User',
      id: nodeId(user.uuid),
      isDisabled: user.disabled,
      isDeactivated: user.deactivated,
      isAnonymized: user.anonymized,
      createdAt: new Date(user.createdAt).toISOString(),
      updatedAt: new Date(user.updatedAt).toISOString(),
      standardAttributes: this.readForm(user, host),
      customAttributes: { ...user.custom },
    };
  }

  /** Stored attributes + derived keys + picture in its representation form (§2.3, §3.4). */
  readForm(user: FakeUser, host: string): Record<string, unknown> {
    const out: Record<string, unknown> = structuredClone(user.standard);
    if (typeof out.picture === 'string') {
      const m = /^authgearimages:\/\/\/([^/]+)\/([^/]+)$/.exec(out.picture);
      if (m) out.picture = `https://${this.options.imagesCdnHost ?? host}/_images/${m[1]}/${m[2]}/profile`;
    }
    if (out.email !== undefined) out.email_verified = user.identities.some((i) => i.email === out.email && i.verified === true);
    if (out.phone_number !== undefined) out.phone_number_verified = user.identities.some((i) => i.phone_number === out.phone_number && i.verified === true);
    out.updated_at = Math.floor(user.updatedAt / 1000);
    return out;
  }

  /** The request's transaction: `rollback` undoes what updates changed since (doRollback). */
  begin(): { commit(): void; rollback(): void } {
    const journal = new Map<string, FakeUser>();
    this.#journal = journal;
    return {
      commit: () => void (this.#journal = undefined),
      rollback: () => {
        this.#journal = undefined;
        for (const [uuid, before] of journal) this.users.set(uuid, before);
      },
    };
  }

  /** RepresentationFormToStorageForm: our own https form goes back to authgearimages:///. */
  #storageForm(picture: string, host: string): string {
    let url: URL;
    try {
      url = new URL(picture);
    } catch {
      return picture;
    }
    const m = /\/_images\/([^/]+)\/([^/]+)/.exec(url.pathname);
    const ours = url.host === host || (this.options.imagesCdnHost !== undefined && url.host === this.options.imagesCdnHost);
    return (url.protocol === 'https:' || url.protocol === 'http:') && ours && m ? `authgearimages:///${m[1]}/${m[2]}` : picture;
  }
}

function normalise(name: IdentityAware, value: string): string | undefined {
  if (name === 'email') return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value) ? value.toLowerCase() : undefined;
  if (name === 'phone_number') return /^\+[1-9]\d{6,14}$/.test(value) ? value : undefined;
  return /^\S+$/.test(value) ? value.toLowerCase() : undefined;
}

/** PopulateIdentityAwareStandardAttributes: omitted identity-aware keys come from identities. */
function populateIdentityAware(attrs: Record<string, unknown>, identities: readonly Identity[]): void {
  for (const key of IDENTITY_AWARE) {
    if (attrs[key] !== undefined) continue;
    const owner = identities.find((i) => i[key] !== undefined);
    if (owner) attrs[key] = owner[key];
  }
}
