// Authgear as a Target (contract notes §1–§3): find the user with getUsersByStandardAttribute,
// upload through a fresh presigned URL, then updateUser with the user's complete standard
// attributes and only `picture` changed, because the mutation replaces the whole object. What the
// tool records (`remote`) is the picture as Authgear reads it back, the https form, which is also
// what the next run's lookup reports as `current`.
import { RowError } from '../../errors.js';
import { createEndpoint } from '../../net/endpoint.js';
import { createHttp, type Timeouts } from '../../net/http.js';
import type { Pacer } from '../../net/pacer.js';
import { writeThenVerify } from '../../net/write-then-verify.js';
import type { Account, Applied, ApplyOptions, Avatar, Prior, Target, TargetFeatures, TargetLimits } from '../target.js';
import { targetPacer, type PacingDeps } from '../pacing.js';
import { startup } from '../startup.js';
import { UploadOnce } from '../upload-once.js';
import { AuthgearApi, GRAPHQL_PATH, inactive, type AuthgearUser } from './api.js';
import { describeDifferences, isPictureOf, otherDifferences, pictureOf, withPicture, type StandardAttributes } from './attributes.js';
import { authgearPolicy } from './errors.js';
import { BATCH_BASE_BYTES, batchItemBytes } from './lookup-batch.js';
import { LookupBatcher } from './lookup-batcher.js';
import { lookupValueProblem } from './lookup-values.js';
import type { AuthgearConfig } from './options.js';
import { AdminToken } from './token.js';

/** `MaxContentLength` of Authgear's images service: 10 MiB (§2.2). */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
/** The Admin API reads at most 1 MiB of a GraphQL body (§4); a batch stays 8 KiB under it. */
export const MAX_LOOKUP_BODY_BYTES = 1024 * 1024 - 8 * 1024;
/** When no batch is in flight, a pause this long in arriving lookups sends the ones waiting:
 * rows reach the lookup a fraction of a millisecond apart while the pipeline refills its window. */
export const LOOKUP_IDLE_MS = 5;
/** After an answer, the lookups left over wait up to this long for the rows it let through to be
 * replaced by new ones (a ledger append, a stat, a ledger lookup each), so the next batch is full;
 * paid once at the end of a run, where no new rows come. */
export const LOOKUP_REFILL_MS = 200;

/** What tests may change; the CLI uses the defaults. */
export interface AuthgearDeps extends PacingDeps {
  readonly timeouts?: Timeouts;
  /** Wall clock for the JWT's iat/exp, epoch ms. */
  readonly now?: () => number;
  readonly tokenLifetimeMs?: number;
  /** See LOOKUP_IDLE_MS and LOOKUP_REFILL_MS. */
  readonly lookupWait?: { readonly idleMs: number; readonly refillMs: number };
}

/** Carried from resolve to apply. */
export interface State {
  readonly id: string;
  readonly updatedAt: string;
  readonly standardAttributes: StandardAttributes;
}

interface Session {
  readonly api: AuthgearApi;
  readonly pacer: Pacer;
  readonly lookups: LookupBatcher;
}

export class AuthgearTarget implements Target<State> {
  readonly name = 'authgear';
  readonly id: string;
  readonly features: TargetFeatures<State>;
  readonly token: AdminToken;
  #session?: Session;
  /** Identical avatars within a run are uploaded once (see UploadOnce). */
  #uploads = new UploadOnce();

  constructor(private readonly config: AuthgearConfig, private readonly deps: AuthgearDeps) {
    this.id = `authgear:${config.endpoint}`;
    this.features = {
      guardsUserChanges: true,
      bulkDiscovery: false,
      // Lookups of the rows in flight share requests (lookup-batcher.ts): a nightly run of
      // unchanged users costs one request per --lookup-batch-size users.
      batchesLookups: config.lookupBatchSize > 1,
      backupPrevious: false,
      findsUsersByEmail: config.matchBy === 'email',
      // A picture URL stays valid after another is set: rollback sets the old one again, or
      // removes the attribute, every other attribute kept (updateUser replaces them all).
      restore: (account, previous) => this.#putPicture(account, previous),
      remove: async (account) => {
        const { previous } = await this.#putPicture(account, undefined);
        return previous === undefined ? {} : { previous };
      },
      // Authgear normalises emails and usernames case-insensitively: Ana@ and ana@ are one user.
      canonical: config.matchBy === 'phone_number' ? (user) => user.trim() : (user) => user.trim().toLowerCase(),
      // An intent names the stored form (authgearimages:///…); resolve reports the https form.
      isIntended: (current, intended) => isPictureOf(current, intended),
    };
    this.token = new AdminToken({
      privateKey: config.privateKey,
      keyId: config.keyId,
      projectId: config.projectId,
      runId: config.runId,
      log: deps.log,
      ...(deps.now ? { now: deps.now } : {}),
      ...(deps.tokenLifetimeMs ? { lifetimeMs: deps.tokenLifetimeMs } : {}),
    });
  }

  get pacer(): Pacer | undefined {
    return this.#session?.pacer;
  }

  async open(signal: AbortSignal): Promise<TargetLimits> {
    const { config, deps } = this;
    const pacer = targetPacer('authgear', config, deps, signal);
    const timeouts = deps.timeouts ? { timeouts: deps.timeouts } : {};
    const policy = authgearPolicy(deps.random);
    const http = createHttp({ baseUrl: config.endpoint, log: deps.log, bearer: () => this.token.current, ...timeouts });
    const uploads = createHttp({ baseUrl: config.endpoint, log: deps.log, ...timeouts });
    const api = new AuthgearApi({
      admin: createEndpoint({ http, pacer, policy, log: deps.log }),
      uploads,
      pacer,
      policy,
      token: this.token,
      log: deps.log,
      context: { endpoint: config.endpoint, projectId: config.projectId, keyId: config.keyId },
    });
    await startup(api.probe(), `${config.endpoint} does not answer as Authgear's Admin API (${GRAPHQL_PATH})`);
    const { matchBy } = config;
    const lookups = new LookupBatcher({
      size: config.lookupBatchSize,
      idleMs: deps.lookupWait?.idleMs ?? LOOKUP_IDLE_MS,
      refillMs: deps.lookupWait?.refillMs ?? LOOKUP_REFILL_MS,
      maxBodyBytes: MAX_LOOKUP_BODY_BYTES,
      bodyBytes: { base: BATCH_BASE_BYTES, item: batchItemBytes },
      single: (value) => api.findUsers(matchBy, value),
      batch: (values) => api.findUsersBatch(matchBy, values),
      what: (value) => `look up ${matchBy} ${value}`,
      onRefused: (why) =>
        deps.log.warn(`authgear: ${config.endpoint} refused a batched lookup (${why}); looking users up one at a time for the rest of this run (--lookup-batch-size 1 does so from the start)`),
    });
    this.#session = { api, pacer, lookups };
    return { maxBytes: MAX_UPLOAD_BYTES };
  }

  async resolve(user: string, _prior: Prior | undefined): Promise<Account<State>> {
    const { lookups } = this.#open();
    const { matchBy } = this.config;
    // Caught here rather than by the server: in a batch, one refused value costs a re-send.
    const problem = lookupValueProblem(matchBy, user);
    if (problem) throw new RowError('invalid_user_id', `look up ${matchBy} ${user}: Authgear cannot use this value for the lookup: ${problem}; not sent`);
    const users = await lookups.find(user);
    if (users.length === 0) throw new RowError('user_not_found', `no Authgear user has ${matchBy} ${user}`);
    if (users.length > 1) {
      throw new RowError('ambiguous_user', `${users.length} Authgear users have ${matchBy} ${user} (${users.map((u) => u.id).join(', ')}); none was changed`);
    }
    const found = users[0]!;
    const why = inactive(found);
    if (why) throw new RowError('user_deactivated', `the Authgear user with ${matchBy} ${user} is ${why}; left untouched`);
    const current = pictureOf(found.standardAttributes);
    const state: State = { id: found.id, updatedAt: found.updatedAt, standardAttributes: found.standardAttributes };
    return { user, id: found.id, ...(current ? { current } : {}), state };
  }

  async apply(account: Account<State>, avatar: Avatar, options: ApplyOptions = {}): Promise<Applied> {
    const { api } = this.#open();
    const { state } = account;
    const stored = await this.#uploads.get(avatar.sha256, () => this.#open().api.upload(avatar.jpeg, `avatar-${avatar.sha256.slice(0, 16)}.jpg`));

    // Re-read right before the write: updateUser replaces everything and has no compare-and-set,
    // so the attributes sent must be the newest ones (§3.5, "narrowing the race window").
    const fresh = await api.user(state.id);
    if (!fresh) throw new RowError('user_not_found', `the Authgear user ${state.id} (${account.user}) was deleted since the lookup`);
    const why = inactive(fresh);
    if (why) throw new RowError('user_deactivated', `the Authgear user ${state.id} (${account.user}) was ${why} since the lookup; left untouched`);
    const before = pictureOf(fresh.standardAttributes);
    if (!this.config.overwriteUserChanges && before !== pictureOf(state.standardAttributes)) {
      throw new RowError('changed_by_user', `${account.user} changed their picture to ${before ?? '(none)'} while the row was being processed; kept (see --overwrite-user-changes)`);
    }
    if (fresh.updatedAt !== state.updatedAt) {
      this.deps.log.debug(`authgear: ${account.user} was updated since the lookup; writing on top of the newest attributes`);
    }

    // The stored form (authgearimages:///…): `isIntended` matches the https form resolve reports.
    await options.intend?.(stored);
    const after = await this.#setPicture(account.user, fresh, stored);
    const readBack = pictureOf(after.standardAttributes);
    const differences = otherDifferences(fresh.standardAttributes, after.standardAttributes);
    if (!isPictureOf(readBack, stored) || differences.length > 0) {
      // The message is what the ledger keeps: both versions, so a person can put things right.
      throw new RowError(
        'verify_failed',
        `${account.user}: the read-back after updateUser does not match what was written: ` +
          `picture before ${before ?? '(none)'}, written ${stored}, read back ${readBack ?? '(none)'}` +
          (differences.length > 0 ? `; other attributes changed: ${describeDifferences(differences)}` : ''),
      );
    }
    return { remote: readBack!, ...(before ? { previous: before } : {}) };
  }

  /** Rollback: `picture` as it was (a URL Authgear reported), or none; nothing else changes. */
  async #putPicture(account: Account<State>, picture: string | undefined): Promise<Applied> {
    const { api } = this.#open();
    const fresh = await api.user(account.state.id);
    if (!fresh) throw new RowError('user_not_found', `the Authgear user ${account.state.id} (${account.user}) was deleted since the lookup`);
    const why = inactive(fresh);
    if (why) throw new RowError('user_deactivated', `the Authgear user ${account.state.id} (${account.user}) was ${why} since the lookup; left untouched`);
    const before = pictureOf(fresh.standardAttributes);
    const matches = (now: string | undefined): boolean => (picture === undefined ? now === undefined : now === picture || isPictureOf(now, picture));
    const after = await writeThenVerify<AuthgearUser>({
      write: (idempotent, seen = fresh) => api.updateUser(fresh.id, withPicture(seen.standardAttributes, picture), { idempotent }),
      readBack: async () => {
        const now = await api.user(fresh.id);
        if (!now) throw new RowError('user_not_found', `the Authgear user ${fresh.id} (${account.user}) was deleted during the update`);
        return now;
      },
      landed: (now) => matches(pictureOf(now.standardAttributes)),
    });
    const readBack = pictureOf(after.standardAttributes);
    const differences = otherDifferences(fresh.standardAttributes, after.standardAttributes);
    if (!matches(readBack) || differences.length > 0) {
      throw new RowError(
        'verify_failed',
        `${account.user}: the read-back after updateUser does not match what was written: picture before ${before ?? '(none)'}, ` +
          `written ${picture ?? '(none)'}, read back ${readBack ?? '(none)'}` + (differences.length > 0 ? `; other attributes changed: ${describeDifferences(differences)}` : ''),
      );
    }
    return { remote: readBack ?? '', ...(before ? { previous: before } : {}) };
  }

  async close(): Promise<void> {
    this.#session?.lookups.close(new Error('the authgear target is closed'));
    this.#session?.pacer.stop(new Error('the authgear target is closed'));
    this.#session = undefined;
  }

  #open(): Session {
    if (!this.#session) throw new Error('authgear target: open() must succeed before resolve() or apply()');
    return this.#session;
  }

  /** updateUser with everything `current` holds and only picture changed. A lost answer is read
   * back before anything is sent again: if the picture is ours, the write landed. */
  async #setPicture(user: string, current: AuthgearUser, stored: string): Promise<AuthgearUser> {
    const { api } = this.#open();
    return writeThenVerify<AuthgearUser>({
      // The re-send is built on what was read back: the newest attributes, only picture changed.
      write: (idempotent, seen = current) => api.updateUser(current.id, withPicture(seen.standardAttributes, stored), { idempotent }),
      readBack: async () => {
        const now = await api.user(current.id);
        if (!now) throw new RowError('user_not_found', `the Authgear user ${current.id} (${user}) was deleted during the update`);
        return now;
      },
      landed: (now) => isPictureOf(pictureOf(now.standardAttributes), stored),
    });
  }
}
