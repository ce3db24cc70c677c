// Zulip as a Target. Zulip has no API for an admin to set another user's avatar (contract notes
// §3), so every upload is POST /users/me/avatar made with that user's own key:
//   - the administrator's key only discovers: server_settings, register (size limit, restriction),
//     one bulk GET /users;
//   - each user's key comes from --credentials or is minted with --jwt-key-file (keys.ts), is
//     used with that user's own email (Zulip answers 401 to a key used with another email), and
//     is confirmed with GET /users/me — its user_id must be the row's — before its first upload;
//   - rate limits are per user (§7), so every key has its own pacer: a 429 pauses that key only;
//     the admin's key and the anonymous calls (per IP) have one each.
import { PREFERRED_EDGE } from './edge.js';
import { createHash } from 'node:crypto';
import { AvatarError, FatalError, RowError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { createEndpoint } from '../../net/endpoint.js';
import type { ErrorPolicy } from '../../net/errors.js';
import { createHttp, type HttpClient, type Timeouts } from '../../net/http.js';
import { Pacer } from '../../net/pacer.js';
import { writeThenVerify } from '../../net/write-then-verify.js';
import type { Account, Applied, ApplyOptions, Avatar, Prior, Target, TargetFeatures, TargetLimits } from '../target.js';
import { targetPacer, type PacingDeps } from '../pacing.js';
import { startup } from '../startup.js';
import { BackupStore, isBackupRef } from '../../ledger/backups.js';
import { ZulipApi, type Auth, type UploadFile, type ZulipUser } from './api.js';
import { Directory } from './directory.js';
import { adminPolicy, anonymousPolicy, userPolicy } from './errors.js';
import { KeyCache } from './key-cache.js';
import { KeySource, type UserCredential } from './keys.js';
import { basic, basicToken, type ZulipConfig } from './options.js';

/** What tests and benchmarks may change; the CLI uses the defaults. */
export interface ZulipDeps extends PacingDeps {
  readonly timeouts?: Timeouts;
}

/** MAX_AVATAR_FILE_SIZE_MIB's default, for a server that does not say. */
const DEFAULT_MAX_MIB = 5;
/** max_avatar_file_size_mib is in /register since FL 4; uploads need nothing newer. */
const MIN_FEATURE_LEVEL = 4;
/** jwt/fetch_api_key is new in 7.0. */
const JWT_FEATURE_LEVEL = 160;
/** 9.0 moved avatar processing from Pillow to libvips. */
const LIBVIPS_FEATURE_LEVEL = 237;

interface Session {
  readonly admin: ZulipApi;
  readonly adminAuth: Auth;
  readonly http: HttpClient;
  readonly directory: Directory;
  readonly keys: KeySource;
  readonly restricted: boolean;
  /** realm_default_avatar_source, when the server says (see ownAvatar). */
  readonly defaultAvatarSource?: string;
  readonly pacers: Pacer[];
  readonly cache?: KeyCache;
}

/** What resolve hands to apply. */
export interface Resolved {
  readonly user: ZulipUser;
  readonly email: string;
}

export class ZulipTarget implements Target<Resolved> {
  readonly name = 'zulip';
  readonly id: string;
  readonly features: TargetFeatures<Resolved> = {
    guardsUserChanges: true,
    bulkDiscovery: true,
    // An uploaded avatar cannot be set again by reference: the image is kept before it is
    // replaced (#keep), and restore uploads it again.
    backupPrevious: true,
    findsUsersByEmail: true,
    // Emails are case-insensitive in Zulip: Ana@x and ana@x are the same row.
    canonical: (user) => user.trim().toLowerCase(),
    keepBackupsIn: (dir) => {
      this.#backups = new BackupStore(dir);
    },
    restore: (account, previous) => this.#restore(account, previous),
    // A kept image is uploaded again (avatar_version + 1, §1); a default is DELETE (no own avatar).
    restoresTo: (account, previous) => {
      if (previous === DEFAULT_AVATAR || isDefaultAvatarUrl(previous, this.config.site)) return '';
      const version = account.state.user.avatarVersion;
      return version === undefined ? undefined : String(version + 1);
    },
    remove: (account) => this.#remove(account),
  };
  /** Known after open(). */
  serverVersion?: string;
  featureLevel?: number;
  #session?: Session;
  #signal?: AbortSignal;
  /** One pacer per user key while that user's row is being applied. */
  readonly #userPacers = new Map<string, Pacer>();
  /** Keys already checked with GET /users/me (by a digest of email and key). */
  readonly #confirmed = new Set<string>();
  /** Where replaced avatars are kept (features.keepBackupsIn); none when never told. */
  #backups?: BackupStore;

  constructor(private readonly config: ZulipConfig, private readonly deps: ZulipDeps) {
    this.id = `zulip:${config.site}`;
  }

  /** Counters of the administrator's pacer (discovery): for tests and benchmarks. */
  get adminPacer(): Pacer | undefined {
    return this.#session?.pacers[1];
  }

  async open(signal: AbortSignal): Promise<TargetLimits> {
    this.#signal = signal;
    const { config } = this;
    const cache = config.mode.kind === 'jwt' ? await openCache(config.mode.cachePath, config.mode.secret, config.site, this.deps.log) : undefined;
    try {
      return await this.#start(signal, cache);
    } catch (error) {
      await cache?.close();
      throw error;
    }
  }

  async #start(signal: AbortSignal, cache: KeyCache | undefined): Promise<TargetLimits> {
    const { config, deps } = this;

    const anonPacer = this.#pacer('zulip', config.concurrency, signal);
    const adminPacer = this.#pacer('zulip admin', config.concurrency, signal);
    const pacers = [anonPacer, adminPacer];
    let http = createHttp({ baseUrl: config.site, log: deps.log, ...(deps.timeouts ? { timeouts: deps.timeouts } : {}) });
    if (config.maxRate) {
      // --max-rate is for the whole target; pauses stay per key. A pacer that only hands out
      // rate slots spaces the requests of every other pacer without seeing their answers.
      const gate = new Pacer({ name: 'zulip', concurrency: 1_000_000, retries: 0, maxRate: config.maxRate, signal, ...(deps.clock ? { clock: deps.clock } : {}) });
      pacers.push(gate);
      const inner = http;
      http = {
        baseUrl: inner.baseUrl,
        async request(request, requestSignal) {
          await gate.call(async () => undefined);
          return inner.request(request, requestSignal);
        },
      };
    }
    const anonymous = this.#api(http, anonPacer, anonymousPolicy);
    const admin = this.#api(http, adminPacer, adminPolicy);
    const adminAuth: Auth = { authorization: basic(config.admin.email, config.admin.key) };

    const settings = await startup(anonymous.serverSettings(), `${config.site} does not answer as a Zulip server (GET /api/v1/server_settings)`);
    this.serverVersion = settings.version;
    this.featureLevel = settings.featureLevel;
    if (settings.featureLevel < MIN_FEATURE_LEVEL) {
      throw new FatalError('unsupported_server', `${config.site} runs Zulip ${settings.version} (feature level ${settings.featureLevel}); avatar-import needs feature level ${MIN_FEATURE_LEVEL} or later`);
    }
    if (config.mode.kind === 'jwt' && settings.featureLevel < JWT_FEATURE_LEVEL) {
      throw new FatalError('unsupported_server', `${config.site} runs Zulip ${settings.version}: jwt/fetch_api_key needs Zulip 7.0 (feature level ${JWT_FEATURE_LEVEL}); use --credentials instead`);
    }
    if (settings.featureLevel < LIBVIPS_FEATURE_LEVEL) {
      deps.log.warn(`${config.site} runs Zulip ${settings.version}, older than 9.0: the server processes avatars with Pillow, which may handle some images differently`);
    }

    const me = await startup(admin.me(adminAuth, "check the administrator's API key (GET /users/me)"), `${config.site}: cannot check the administrator's key`);
    if (!me.isAdmin) {
      throw new FatalError('not_admin', `${config.admin.email} is not an administrator of ${config.site}; discovery needs an owner's or administrator's key (they see every user's real email)`);
    }
    const realm = await startup(admin.realmSettings(adminAuth), `${config.site}: cannot read the organisation settings`);
    if (realm.queueId !== undefined) {
      // /register allocates an event queue; the server would expire it, but there is no need to wait.
      await admin.deleteQueue(adminAuth, realm.queueId).catch((error: unknown) => {
        if (error instanceof AvatarError && error.kind === 'fatal') throw error;
      });
    }
    const directory = new Directory(await startup(admin.users(adminAuth), `${config.site}: cannot list users`));
    if (realm.avatarChangesDisabled) {
      deps.log.warn(`${config.site} lets only administrators change avatars: other users' rows fail with avatar_changes_disabled (see the README for the LDAP avatar sync alternative)`);
    }

    // Per-key pacers are made and dropped per row, so they do not each listen to the run's signal.
    signal.addEventListener('abort', () => {
      for (const pacer of this.#userPacers.values()) pacer.stop(signal.reason);
    }, { once: true });
    this.#session = {
      admin, adminAuth, http, directory, restricted: realm.avatarChangesDisabled, pacers,
      ...(realm.defaultAvatarSource === undefined ? {} : { defaultAvatarSource: realm.defaultAvatarSource }),
      keys: new KeySource(config.mode, config.admin, { anonymous, log: deps.log, ...(cache ? { cache } : {}) }),
      ...(cache ? { cache } : {}),
    };
    return { preferredEdge: PREFERRED_EDGE, maxBytes: Math.floor((realm.maxAvatarFileSizeMib ?? DEFAULT_MAX_MIB) * 1024 * 1024) };
  }

  async resolve(user: string, prior: Prior | undefined): Promise<Account<Resolved>> {
    const { directory, keys } = this.#open();
    const email = user.trim();
    if (!/^[^@\s]+@[^@\s]+$/.test(email)) throw new RowError('invalid_user_id', `${user} is not an email address; Zulip users are named by email`);
    const found = directory.lookup(email);
    if (!found) {
      const hint = directory.hidden > 0 ? ` (${directory.hidden} users hide their email even from administrators and cannot be matched)` : '';
      throw new RowError('user_not_found', `${email} is not a user of ${this.config.site}${hint}`);
    }
    // A bot's avatar belongs to its owner (PATCH /bots/{id}); an HR export has no business there.
    if (found.isBot) throw new RowError('invalid_user_id', `${email} is a bot; avatar-import never changes bots`);
    if (!found.isActive) throw new RowError('user_deactivated', `${email} is deactivated; left untouched`);
    // `current` is the avatar_version (what the tool records as `remote` after an upload), but only
    // for an avatar someone uploaded: a default avatar is no one's choice (see ownAvatar).
    const current = found.avatarVersion !== undefined && ownAvatar(found, this.#open().defaultAvatarSource, this.config.site) ? String(found.avatarVersion) : undefined;
    // A row the tool set before may well be skipped (unchanged, or changed_by_user): whether it
    // could be uploaded again is only asked if it comes to that (apply). A row never set before
    // will be uploaded, so it fails here, before its image is read.
    if (prior === undefined) this.#checkWritable(found, email, keys);
    // The address exactly as Zulip has it: Basic auth compares it case-insensitively anyway.
    const resolved: Resolved = { user: found, email: found.deliveryEmail ?? email };
    return { user, id: String(found.userId), ...(current !== undefined ? { current } : {}), state: resolved };
  }

  /** What makes an upload for this user impossible from the start. */
  #checkWritable(user: ZulipUser, email: string, keys: KeySource): void {
    if (this.#open().restricted && !user.isAdmin) {
      throw new RowError('avatar_changes_disabled', `${this.config.site} lets only administrators change avatars and ${email} is not one; see the README for LDAP avatar sync`);
    }
    if (!keys.has(email)) throw new RowError('credentials_invalid', `--credentials has no API key for ${email}`);
  }

  async apply(account: Account<Resolved>, avatar: Avatar, options: ApplyOptions = {}): Promise<Applied> {
    return this.#asUser(account, (api, credential, me) =>
      this.#upload(api, credential, account.state.user, me, { bytes: avatar.jpeg, filename: 'avatar.jpg', contentType: 'image/jpeg' }, options));
  }

  /** Rollback: `previous` as an earlier write recorded it. A kept image is uploaded again (the
   * same upload as an import, verified the same way); the organisation's default is set back
   * with DELETE. What it replaces is kept in turn, so that a rollback can be rolled back. */
  async #restore(account: Account<Resolved>, previous: string): Promise<Applied> {
    if (previous === DEFAULT_AVATAR || isDefaultAvatarUrl(previous, this.config.site)) {
      const removed = await this.#remove(account);
      return { remote: '', ...removed };
    }
    if (!isBackupRef(previous)) {
      throw new RowError('no_backup', `the avatar to restore (${previous}) was not kept: the run that replaced it predates backups; nothing was changed`);
    }
    const backups = this.#backups;
    if (!backups) throw new Error('zulip target: restore() needs features.keepBackupsIn() first');
    let file: UploadFile;
    try {
      const kept = await backups.get(previous);
      file = { bytes: kept.bytes, filename: `avatar.${kept.ext}`, contentType: MIME[kept.ext]! };
    } catch (error) {
      throw new RowError('no_backup', `${(error as Error).message}; nothing was changed`);
    }
    return this.#asUser(account, (api, credential, me) => this.#upload(api, credential, account.state.user, me, file, {}));
  }

  /** Back to the organisation's default avatar (DELETE /users/me/avatar as the user), the
   * uploaded one kept first. Idempotent: a user who shows the default already is sent nothing
   * (before Zulip 12.0 every DELETE bumped avatar_version and notified the organisation). */
  async #remove(account: Account<Resolved>): Promise<{ readonly previous?: string; readonly replaced?: string }> {
    return this.#asUser(account, async (api, credential, me) => {
      const { user } = account.state;
      const state = me ?? user;
      if (!ownAvatar(state, this.#open().defaultAvatarSource, this.config.site)) return { previous: DEFAULT_AVATAR };
      const kept = await this.#keep(api, credential.email, state);
      const url = await api.deleteAvatar({ authorization: basic(credential.email, credential.key) }, `remove the avatar of ${credential.email}`);
      // DELETE of an uploaded avatar is do_change_avatar_fields: avatar_version += 1 (§2).
      this.#open().directory.remember({ ...user, ...(state.avatarVersion !== undefined ? { avatarVersion: state.avatarVersion + 1 } : {}), avatarUrl: url ?? null });
      return kept;
    });
  }

  /**
   * Run `work` as the account's own user: writable, with their key (refetched once when a cached
   * one is refused), confirmed with GET /users/me (`me`: the fresh account when it was just
   * confirmed), on a pacer of their own for the time of the row.
   */
  async #asUser<T>(account: Account<Resolved>, work: (api: ZulipApi, credential: UserCredential, me: ZulipUser | undefined) => Promise<T>): Promise<T> {
    const session = this.#open();
    const { user, email } = account.state;
    this.#checkWritable(user, email, session.keys);

    const id = email.toLowerCase();
    const pacer = this.#pacer(`zulip ${email}`, 1);
    this.#userPacers.set(id, pacer);
    try {
      const api = this.#api(session.http, pacer, userPolicy);
      return await this.#withKey(user, email, async (credential) => {
        const me = await this.#confirm(api, credential, user);
        return work(api, credential, me);
      });
    } finally {
      this.#userPacers.delete(id);
      pacer.stop(new Error('zulip: row finished'));
    }
  }

  /**
   * Keep the avatar about to be replaced, when it is the user's upload (a default is set again
   * with DELETE, nothing to keep): the 500 px rendition Zulip serves (the uploaded original is not
   * served by any documented route, §9), else the 100 px one. Returns what the ledger records:
   * `previous` naming the kept image (or `default`), `replaced` the avatar_version it had. A
   * target never told where to keep images (one driven directly, as in unit tests) records the
   * avatar's URL instead, which rollback refuses as not kept. Throws backup_failed before anything
   * is changed when the image cannot be had or written: never replace what could not be kept.
   */
  async #keep(api: ZulipApi, email: string, state: Pick<ZulipUser, 'avatarUrl' | 'avatarVersion'>): Promise<{ previous: string; replaced?: string }> {
    const { site } = this.config;
    if (!ownAvatar(state, this.#open().defaultAvatarSource, site)) return { previous: DEFAULT_AVATAR };
    const replaced = state.avatarVersion === undefined ? {} : { replaced: String(state.avatarVersion) };
    const url = new URL(state.avatarUrl!, site + '/').href;
    if (!this.#backups) return { previous: url, ...replaced };
    const what = `keep the avatar of ${email} before replacing it`;
    const medium = mediumUrl(url);
    const bytes = (medium === undefined ? undefined : await api.download(medium, what)) ?? (await api.download(url, what));
    if (bytes === undefined) throw new RowError('backup_failed', `${what}: ${url} answers 404; nothing was changed`);
    try {
      return { previous: await this.#backups.put(bytes), ...replaced };
    } catch (error) {
      throw new RowError('backup_failed', `${what} in ${this.#backups.dir}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; nothing was changed`);
    }
  }

  async close(): Promise<void> {
    for (const pacer of [...(this.#session?.pacers ?? []), ...this.#userPacers.values()]) pacer.stop(new Error('the zulip target is closed'));
    await this.#session?.cache?.close();
    this.#session = undefined;
  }

  #open(): Session {
    if (!this.#session) throw new Error('zulip target: open() must succeed before resolve() or apply()');
    return this.#session;
  }

  #pacer(name: string, concurrency: number, signal?: AbortSignal): Pacer {
    const { config, deps } = this;
    // --max-rate is a run-wide gate of its own (see open), not each key's pacer.
    const pacer = targetPacer(name, { concurrency, retries: config.retries, ...(config.requestTimeoutMs ? { requestTimeoutMs: config.requestTimeoutMs } : {}) }, deps, signal);
    if (!signal && this.#signal?.aborted) pacer.stop(this.#signal.reason);
    return pacer;
  }

  #api(http: HttpClient, pacer: Pacer, policy: ErrorPolicy): ZulipApi {
    return new ZulipApi(createEndpoint({ http, pacer, policy, log: this.deps.log }));
  }

  /**
   * Run `work` with the user's key. A refused key that came from the cache is dropped and fetched
   * again, once; a refused key is otherwise this row's failure (credentials_invalid), never the
   * run's — unless the admin view says the account was deactivated meanwhile.
   */
  async #withKey<T>(user: ZulipUser, email: string, work: (credential: UserCredential) => Promise<T>): Promise<T> {
    const { keys } = this.#open();
    const credential = await keys.get(email);
    if (!credential) throw new RowError('credentials_invalid', `--credentials has no API key for ${email}`);
    this.deps.log.addSecret(credential.key);
    this.deps.log.addSecret(basicToken(credential.email, credential.key));
    try {
      return await work(credential);
    } catch (error) {
      if (!refused(error)) throw error;
      if (credential.origin === 'cache') {
        this.deps.log.debug(`zulip: the cached key of ${email} was refused; fetching a new one`);
        const fresh = await keys.refetch(email);
        if (fresh) {
          this.deps.log.addSecret(basicToken(fresh.email, fresh.key));
          try {
            return await work(fresh);
          } catch (again) {
            if (!refused(again)) throw again;
            await keys.forget(email);
            throw await this.#explain(user, email, again);
          }
        }
      }
      if (credential.origin === 'minted') await keys.forget(email);
      throw await this.#explain(user, email, error);
    }
  }

  /** Every 401 says UNAUTHORIZED whatever the reason (§6): ask the admin view whether the
   * account was deactivated since start-up. */
  async #explain(user: ZulipUser, email: string, error: AvatarError): Promise<AvatarError> {
    const { admin, adminAuth, directory } = this.#open();
    try {
      const now = await admin.user(adminAuth, email);
      if (now && !now.isActive) {
        directory.remember(now);
        return new RowError('user_deactivated', `${email} was deactivated during the run; left untouched`);
      }
      if (now && now.userId !== user.userId) return new RowError('user_not_found', `${email} now belongs to another account; run again`);
    } catch (lookup) {
      if (lookup instanceof AvatarError && lookup.kind === 'fatal') throw lookup;
    }
    return error;
  }

  /** GET /users/me once per key: the key must belong to the row's user_id, whatever the server's
   * own email check says. Returns the fresh account, or undefined when confirmed earlier. */
  async #confirm(api: ZulipApi, credential: UserCredential, user: ZulipUser): Promise<ZulipUser | undefined> {
    const digest = createHash('sha256').update(`${credential.email.toLowerCase()}\0${credential.key}`).digest('hex');
    if (this.#confirmed.has(digest)) return undefined;
    const me = await api.me({ authorization: basic(credential.email, credential.key) }, `check the API key of ${credential.email} (GET /users/me)`);
    if (me.userId !== user.userId) {
      throw new RowError('credentials_invalid', `the key given for ${credential.email} (user ${user.userId}) belongs to user ${me.userId}; it is never used for another account`);
    }
    this.#confirmed.add(digest);
    return me;
  }

  async #upload(api: ZulipApi, credential: UserCredential, user: ZulipUser, me: ZulipUser | undefined, file: UploadFile, options: ApplyOptions): Promise<Applied> {
    const { admin, adminAuth, directory } = this.#open();
    const auth: Auth = { authorization: basic(credential.email, credential.key) };
    const what = `upload the avatar of ${credential.email}`;
    const before = me?.avatarVersion ?? user.avatarVersion;
    // What rollback needs, kept before anything changes (a backup_failed row changed nothing).
    const kept = await this.#keep(api, credential.email, me ?? user);
    // Zulip's `current` is avatar_version, which the upload moves to before + 1 (§1): that is the
    // value to expect. Unknown (a server that reports no version): the intent names nothing.
    await options.intend?.(before === undefined ? undefined : String(before + 1));
    // A lost answer is read back before sending again, so that it does not cost a second upload
    // and a second event: the upload landed if the version moved past the one seen before.
    const landed = await writeThenVerify<{ url: string | undefined; version?: number }>({
      write: async (idempotent) => {
        const url = await api.upload(auth, file, { idempotent, what });
        if (!idempotent) return { url };
        // A re-send (retried by the pacer, and racing the lost first send) may have landed more
        // than once: each landing bumps avatar_version, so before + 1 could be wrong. Record what
        // the server says now, or the next run would take the tool's own avatar for the user's.
        const now = await admin.user(adminAuth, credential.email);
        return { url, ...(now?.avatarVersion !== undefined ? { version: now.avatarVersion } : {}) };
      },
      readBack: async () => {
        const now = await admin.user(adminAuth, credential.email);
        return { url: now?.avatarUrl ?? undefined, ...(now?.avatarVersion !== undefined ? { version: now.avatarVersion } : {}) };
      },
      landed: (now) => now.version !== undefined && before !== undefined && now.version > before,
    });
    const url = landed.url;
    let version = landed.version;
    // The answer carries only avatar_url; the server does avatar_version += 1 (§1). Were the user
    // to change it in the same instant, the recorded version would be off by one and the next run
    // would keep their picture (changed_by_user): the safe side.
    version ??= before === undefined ? undefined : before + 1;
    directory.remember({ ...user, ...(version !== undefined ? { avatarVersion: version } : {}), avatarUrl: url ?? null });
    return { remote: version !== undefined ? String(version) : (url ?? 'uploaded'), ...kept };
  }
}

/**
 * Whether the user's avatar was uploaded (avatar_source U) rather than the organisation's default.
 * User objects carry no avatar_source (contract notes §9), so it is read from avatar_url: a
 * Gravatar URL or the static default image is a default; an uploaded avatar lives under
 * /user_avatars/ (or on S3). Since Zulip 12.0 a Jdenticon default lives there too: in an
 * organisation whose default is Jdenticon, an avatar_version still at 1 was never changed, so it
 * is the default. Anything else counts as the user's own: the safe side.
 */
export function ownAvatar(user: Pick<ZulipUser, 'avatarUrl' | 'avatarVersion'>, defaultSource: string | undefined, site: string): boolean {
  const raw = user.avatarUrl;
  if (raw === null || raw === undefined) return false;
  let url: URL;
  try {
    url = new URL(raw, site + '/');
  } catch {
    return true;
  }
  if (/(^|\.)gravatar\.com$/i.test(url.hostname)) return false;
  if (url.pathname.endsWith('/static/images/default-avatar.png')) return false;
  if (defaultSource === 'J' && (user.avatarVersion ?? 1) <= 1) return false;
  return true;
}

/** What `previous` records for an avatar that was the organisation's default (Gravatar,
 * Jdenticon, the static image): set again with DELETE, nothing kept. */
export const DEFAULT_AVATAR = 'default';

/** A `previous` URL that ledgers from before backups recorded for a default avatar. */
function isDefaultAvatarUrl(value: string, site: string): boolean {
  return /^https?:\/\//.test(value) && !ownAvatar({ avatarUrl: value }, undefined, site);
}

/** The 500 px rendition beside an uploaded avatar's 100 px one (`<hash>.png` → `<hash>-medium.png`,
 * on local storage and S3 alike: upload_backend.get_avatar_url); undefined for another shape. */
function mediumUrl(url: string): string | undefined {
  const parsed = new URL(url);
  if (!parsed.pathname.endsWith('.png') || parsed.pathname.endsWith('-medium.png')) return undefined;
  parsed.pathname = parsed.pathname.replace(/\.png$/, '-medium.png');
  return parsed.href;
}

const MIME: Readonly<Record<string, string>> = { png: 'image/png', jpg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp' };

function refused(error: unknown): error is AvatarError {
  return error instanceof AvatarError && error.code === 'credentials_invalid';
}

async function openCache(path: string, secret: string, site: string, log: Logger): Promise<KeyCache> {
  try {
    return await KeyCache.open(path, secret, site, log);
  } catch (error) {
    throw new FatalError('key_cache_unavailable', `--key-cache ${path}: cannot be opened (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}
