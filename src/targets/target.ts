import type { OptionTable, Values } from '../options/declare.js';

// The one interface every destination implements (rclone's fs.Fs, kept small). Targets never retry,
// sleep or log on their own: they throw classified errors (src/errors.ts) and make HTTP calls
// through their pacer; the pipeline decides what happens next.

/** A normalised avatar, ready to send. */
export interface Avatar {
  /** Baseline JPEG, square, sRGB, no metadata. */
  readonly jpeg: Buffer;
  /** sha256 of `jpeg`, lowercase hex. */
  readonly sha256: string;
  /** Edge in pixels (width === height). */
  readonly edge: number;
  /** The JPEG quality that made it fit `maxBytes`. */
  readonly quality: number;
}

/** What the ledger remembers the tool left on the target for one user last time. */
export interface Prior {
  readonly outputSha256: string;
  readonly bytes: number;
  /** The target's reference to what was set (file name, mxc URI, avatar_version, picture URL). */
  readonly remote?: string;
  /** A cheap fingerprint of the remote object when it was written (dir: mtime in ms). */
  readonly stamp?: number;
}

/** One user as the target knows them. */
export interface Account<State = unknown> {
  /** The user as the CSV named them (after templating). */
  readonly user: string;
  /** The target's own id for the user, when it differs (Authgear node id, Zulip user_id). */
  readonly id?: string;
  /**
   * What the target holds now, in the same form as `Applied.remote`, so that
   * `account.current === prior.remote` means "still what the tool left". Undefined: nothing set,
   * or the target's default avatar (a Gravatar, a Jdenticon): an avatar the user did not choose.
   * A user the ledger never saw with `current` set is left alone (`has_own_avatar`).
   */
  readonly current?: string;
  /** What the target carries from resolve to apply (current attributes, the per-user key …):
   * typed per target (`undefined` for a target that needs none), opaque to the pipeline. */
  readonly state: State;
}

export interface Applied {
  /** The reference to record as `remote`: must equal what `resolve` will report as `current`. */
  readonly remote: string;
  /** See `Prior.stamp`. */
  readonly stamp?: number;
  /** The avatar the user had before (for the ledger's `previous`). */
  readonly previous?: string;
  /** What `resolve` reported as `current` before this write, when `previous` names that avatar in
   * another form (Zulip: `previous` names the kept image, `replaced` its avatar_version): how
   * rollback finds the ledger line that had set it. */
  readonly replaced?: string;
}

/**
 * How the pipeline follows a write (issue 11). A kill between the target's change and the row's
 * ledger line must not leave the tool's own avatar looking like the user's choice, so a target
 * names what it is about to set before it sets it.
 */
export interface ApplyOptions {
  /**
   * Called once, after any upload and before the call that changes what the user shows, with the
   * reference `resolve` will then report as `current` (undefined when it cannot be known before
   * the write). The target awaits it: the ledger's intent line is on disk first.
   */
  readonly intend?: (remote: string | undefined) => Promise<void>;
  /**
   * An upload of these very bytes that an earlier, interrupted run made but never set (from its
   * intent line): a target with `features.reusesUploads` sets it instead of uploading again.
   */
  readonly reuse?: string;
}

/** What `open` learnt about the destination; the image settings are derived from it. */
export interface TargetLimits {
  /** The largest avatar the target accepts, in bytes: caps --max-bytes. */
  readonly maxBytes?: number;
  /** Edge to use when the user did not pass --size (Zulip renders at 500 px). */
  readonly preferredEdge?: number;
}

/**
 * What a target can do beyond resolve and apply, declared in one place (rclone's fs.Features): the
 * pipeline reads this object and never probes for methods. Properties are booleans; an optional
 * operation is a function, absent where the target cannot do it. Functions are called detached
 * (`features.remove(account)`), so targets bind them.
 */
export interface TargetFeatures<State = unknown> {
  /** An avatar the user set themselves (what `resolve` reports differs from what the tool left)
   * is protected: `changed_by_user`, unless --overwrite-user-changes. A folder the tool owns is not. */
  readonly guardsUserChanges: boolean;
  /** `resolve` answers from users listed in bulk (Synapse's list-accounts pages, Zulip's one
   * GET /users at open), so a run of unchanged users costs a few requests, not one per row. */
  readonly bulkDiscovery: boolean;
  /** `resolve` gathers the calls made at the same time into shared requests (Authgear's aliased
   * lookups), so the pipeline lets every row of its window call it at once instead of queueing
   * rows for a --concurrency slot first; the target's pacer still bounds its requests. */
  readonly batchesLookups?: boolean;
  /** `resolve` answered without waiting, where the target can (dir: one synchronous stat and the
   * size + mtime check): the account, or undefined when answering needs I/O that waits (then the
   * pipeline calls `resolve`). Lets a nightly run skip an unchanged row without a promise. May
   * throw what `resolve` would reject with. */
  resolveNow?(user: string, prior: Prior | undefined): Account<State> | undefined;
  /** The local file `resolveNow` stats for the user (dir: the avatar's path), so the pipeline can
   * have it stat-ed ahead of time in another thread (util/stats-ahead.ts). */
  localFile?(user: string): string;
  /** `apply` honours `ApplyOptions.reuse` (Matrix: an mxc URI uploaded but never set). */
  readonly reusesUploads?: boolean;
  /** Whether what `resolve` reports (`current`) is what an intent named (`remote` passed to
   * `intend`). Absent: the two are compared as strings. */
  isIntended?(current: string, intended: string): boolean;
  /** Users are case-insensitive on this target (Zulip and Authgear emails): the form two rows are
   * compared in to find duplicates. Absent: users compare exactly as written. */
  canonical?(user: string): string;
  /** Users are found by e-mail address (Zulip; Authgear with --match-by email): column detection
   * takes an e-mail column over a bare numeric id. */
  readonly findsUsersByEmail?: boolean;
  /** Called for every row in CSV order, after the duplicate_user check: throws RowError when this
   * user would write where an earlier user of the run does (dir: two users, one file name).
   * `metBefore(u)`: the row on which the run met user `u` (that check's record, so every user
   * claim was called for), if it did: a target need not keep users it can ask about. */
  claim?(user: string, row: number, metBefore?: (user: string) => number | undefined): void;
  /** The target keeps the image it replaces (Zulip cannot re-set an old avatar by reference; `dir`
   * keeps the replaced file) so that `restore` can put it back. Lifecycle (issue 13). */
  readonly backupPrevious: boolean;
  /** Where a target that keeps images itself (Zulip) writes them: the `backup/` folder beside the
   * ledger the run records them in (ledger/backups.ts). Called before `open` by the import and
   * by rollback; a target never told keeps nothing. Absent where the target keeps none this way. */
  keepBackupsIn?(dir: string): void;
  /** Set again an avatar the user had before, named as `Applied.previous` recorded it (an mxc URI,
   * a picture URL, a kept file). Lifecycle (issue 13): absent where not implemented. */
  restore?(account: Account<State>, previous: string): Promise<Applied>;
  /** What `resolve` will report as `current` once `restore(account, previous)` has landed ('' for
   * the default: nothing of the tool's), for the intent line a rollback writes first; undefined
   * when it cannot be known. Absent: `previous` itself (a file's hash, an mxc URI, a picture URL). */
  restoresTo?(account: Account<State>, previous: string): string | undefined;
  /** One user id as the target knows users, the closest to `sent` it can cheaply find (from users
   * it already listed): shown when a run halts on `user_not_found`, so the operator sees
   * `@jane.doe:example.org` sent against `@jdoe:example.org` known. Absent where not implemented. */
  knownUser?(sent: string): Promise<string | undefined>;
  /** Clear the avatar so that the target shows its default (a leaver, a rollback to "none").
   * Returns what was there. Lifecycle (issue 13): absent where not implemented. */
  remove?(account: Account<State>): Promise<{ readonly previous?: string; readonly replaced?: string }>;
}

export interface Target<State = unknown> {
  /** Registry name (`dir`, `matrix` …). */
  readonly name: string;
  /** Identifies the destination in the ledger (`dir:/abs/out`, `matrix:https://hs`): a row is
   * only "done" for the same target id. */
  readonly id: string;
  readonly features: TargetFeatures<State>;
  /** Probe the server and check credentials; throw FatalError when the run cannot go on. Returns
   * the limits the server announced (size cap, preferred edge). `signal` aborts the target's
   * waits and requests: the run aborts it only when it must stop at once, never on a first
   * Ctrl-C (requests already sent then finish and are recorded). */
  open(signal: AbortSignal): Promise<TargetLimits>;
  /** Look one user up. `prior` lets a target answer "still what we left?" cheaply. Throws
   * RowError('user_not_found' | 'user_deactivated' | 'invalid_user_id' …). */
  resolve(user: string, prior: Prior | undefined): Promise<Account<State>>;
  /** Upload and set, calling `options.intend` before the target changes. Returns what to record. */
  apply(account: Account<State>, avatar: Avatar, options?: ApplyOptions): Promise<Applied>;
  close(): Promise<void>;
}

/** The options every target takes from the run, typed (see src/options/schema.ts). */
export interface TargetContext {
  /** This run's id: goes into audit fields and ledger lines. */
  readonly runId: string;
  /** Where secrets come from: never argv. */
  readonly env: NodeJS.ProcessEnv;
  readonly log: import('../log.js').Logger;
  /** --concurrency (or the factory's default), --retries, --max-rate, --request-timeout for this target. */
  readonly pacing: { readonly concurrency: number; readonly retries: number; readonly maxRate?: number; readonly requestTimeoutMs?: number };
  /** --overwrite-user-changes for this target. */
  readonly overwriteUserChanges: boolean;
  /** --checksum. */
  readonly checksum: boolean;
}

/**
 * How a target plugs into the CLI: one per folder in src/targets/, listed in registry.ts. Its
 * options are declared like every other (src/options/declare.ts): the flags, the config-file keys
 * of its `targets:` entries, --help and the README table all come from `options`.
 */
export interface TargetFactory<A extends OptionTable = OptionTable> {
  readonly name: string;
  readonly describe: string;
  readonly options: A;
  /** Rows in flight to this target when --concurrency is not given. */
  readonly defaultConcurrency: number;
  /** The edge used when --size is not given (Zulip renders 500 px), known before anything is sent
   * so that --min-size is checked against it up front. */
  readonly preferredEdge?: number;
  /** Where this target's secrets may come from instead of a file, named when a config file holds
   * a secret (`$MATRIX_ACCESS_TOKEN`). */
  readonly secretEnv?: readonly string[];
  /** Check what the declarations cannot (required options, files readable, options that exclude
   * each other: UsageError naming the flag) and build the target. Reading the files its options
   * name is fine; sending anything is not: that is `open`'s job. */
  create(options: Values<A>, context: TargetContext): Promise<Target>;
}

/** Declares a target with its option types inferred. */
export function defineTarget<A extends OptionTable>(factory: TargetFactory<A>): TargetFactory<A> {
  return factory;
}
