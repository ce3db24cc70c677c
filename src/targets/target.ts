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
export interface Account {
  /** The user as the CSV named them (after templating). */
  readonly user: string;
  /** The target's own id for the user, when it differs (Authgear node id, Zulip user_id). */
  readonly id?: string;
  /**
   * What the target holds now, in the same form as `Applied.remote`, so that
   * `account.current === prior.remote` means "still what the tool left". Undefined: nothing set.
   */
  readonly current?: string;
  /** Target-private state carried from resolve to apply (current attributes, per-user key …). */
  readonly state?: unknown;
}

export interface Applied {
  /** The reference to record as `remote`: must equal what `resolve` will report as `current`. */
  readonly remote: string;
  /** See `Prior.stamp`. */
  readonly stamp?: number;
  /** The avatar the user had before (for the ledger's `previous`). */
  readonly previous?: string;
}

export interface TargetLimits {
  /** The largest avatar the target accepts, in bytes: caps --max-bytes. */
  readonly maxBytes?: number;
  /** Edge to use when the user did not pass --size (Zulip renders at 500 px). */
  readonly preferredEdge?: number;
}

export interface Target {
  /** Registry name (`dir`, `matrix` …). */
  readonly name: string;
  /** Identifies the destination in the ledger (`dir:/abs/out`, `matrix:https://hs`): a row is
   * only "done" for the same target id. */
  readonly id: string;
  /** Whether an avatar the user set themselves is protected (changed_by_user) unless
   * --overwrite-user-changes. A directory the tool owns is not. */
  readonly guardsUserChanges: boolean;
  limits: TargetLimits;
  /** Probe the server and check credentials; throw FatalError when the run cannot go on. */
  open(signal: AbortSignal): Promise<void>;
  /** Canonical form of a user for duplicate detection (Zulip emails are case-insensitive). */
  canonical?(user: string): string;
  /** Look one user up. `prior` lets a target answer "still what we left?" cheaply. Throws
   * RowError('user_not_found' | 'user_deactivated' | 'invalid_user_id' …). */
  resolve(user: string, prior: Prior | undefined): Promise<Account>;
  /** Upload and set. Returns what to record. */
  apply(account: Account, avatar: Avatar): Promise<Applied>;
  close(): Promise<void>;
}

/** A yargs-style option a target adds to the CLI (flags are namespaced by meaning, not by target). */
export interface TargetOption {
  readonly type: 'string' | 'number' | 'boolean' | 'array';
  readonly describe: string;
  readonly default?: unknown;
}

export interface TargetContext {
  /** This run's id: goes into audit fields and ledger lines. */
  readonly runId: string;
  /** Where secrets come from: never argv. */
  readonly env: NodeJS.ProcessEnv;
  readonly log: import('../log.js').Logger;
  /** --overwrite-user-changes, --retries, --max-rate, --max-bytes … as parsed by the CLI. */
  readonly argv: Readonly<Record<string, unknown>>;
}

/** How a target plugs into the CLI: one per folder in src/targets/, listed in registry.ts. */
export interface TargetFactory {
  readonly name: string;
  readonly describe: string;
  readonly options: Readonly<Record<string, TargetOption>>;
  /** Rows in flight to this target when --concurrency is not given. */
  readonly defaultConcurrency: number;
  /** Validate this target's flags (throw UsageError naming the flag) and build the target.
   * Must not send anything: that is `open`'s job. */
  create(context: TargetContext): Promise<Target>;
}
