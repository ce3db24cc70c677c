// One error taxonomy for every stage (rclone's fs/fserrors): stages and targets only *classify*
// failures by throwing these; the pipeline alone decides what a class means (ledger line, retry,
// abort). It lives at the top of src/ rather than in net/ because image and input errors belong
// to the same taxonomy as HTTP ones.

/** What the pipeline does with an error. */
export type ErrorKind =
  /** This row fails; the run goes on. */
  | 'row'
  /** Transient (5xx, reset, timeout on a read): back off and try again, bounded. */
  | 'retry'
  /** Rate limited: pause the whole target until `retryAfterMs` has passed, then re-send. */
  | 'retry-after'
  /** A write whose outcome is not known (timeout after sending): read back before deciding. */
  | 'unknown'
  /** Stop taking rows, exit 3 (bad token, not an admin, server gone). */
  | 'fatal';

/**
 * Stable row error codes. Codes are part of the ledger format: never rename one.
 * `heals: true` marks failures that can go away without the row's input changing (a file that
 * appears later, a server that recovers, a user created tomorrow): those rows are tried again on
 * the next run by default. Others are tried again only when the input changes or with
 * `--retry-failed`.
 */
export const ROW_CODES = {
  missing_value: { heals: false, what: 'the id cell is empty, or the image cell with --require-photo' },
  malformed_record: { heals: false, what: 'the CSV record could not be parsed (wrong column count, bad quoting)' },
  invalid_encoding: { heals: false, what: 'a cell holds bytes that are not valid in the file\'s encoding (see --encoding)' },
  duplicate_user: { heals: false, what: 'the user appears earlier in the same CSV; the earlier row is kept' },
  duplicate_file_name: { heals: false, what: 'dir target: another user of the run already has this output file name' },
  invalid_user_id: { heals: false, what: 'the user id is not valid for the target' },
  path_outside_images_dir: { heals: false, what: 'the image path resolves outside --images-dir' },
  url_not_allowed: { heals: false, what: 'the image URL has a scheme or host that is not allowed (--allow-host)' },
  file_not_found: { heals: true, what: 'the image file does not exist' },
  file_unreadable: { heals: true, what: 'the image file exists but cannot be read (permissions, not a regular file)' },
  fetch_failed: { heals: true, what: 'the image URL could not be fetched (HTTP error, timeout, too big)' },
  unsupported_image: { heals: false, what: 'not an image, corrupt or truncated, or a format that is refused (SVG)' },
  image_too_large: { heals: false, what: 'the image has more pixels than --max-pixels, or more bytes than --max-source-bytes' },
  image_too_small: { heals: false, what: 'the short edge is below --min-size' },
  too_large_after_compression: { heals: false, what: 'no quality/edge within the limits fits --max-bytes' },
  user_not_found: { heals: true, what: 'the target has no such user' },
  user_deactivated: { heals: false, what: 'the user is deactivated on the target; left untouched' },
  ambiguous_user: { heals: false, what: 'several target users match the row' },
  changed_by_user: { heals: false, what: 'the user changed their avatar themselves; kept (see --overwrite-user-changes)' },
  avatar_changes_disabled: { heals: false, what: 'the target refuses avatar changes for this user' },
  credentials_invalid: { heals: false, what: 'the per-user credential was refused' },
  upload_rejected: { heals: false, what: 'the target refused the upload (too large, bad image, not allowed)' },
  verify_failed: { heals: false, what: 'the target did not hold what was written when read back' },
  backup_failed: { heals: true, what: 'the avatar about to be replaced could not be kept for rollback (download or disk); nothing was changed' },
  no_backup: { heals: false, what: 'rollback: the image that run replaced was not kept (a run from before backups, or the file is gone); nothing was changed' },
  target_error: { heals: false, what: 'the target refused the request for another reason (see message)' },
  retries_exhausted: { heals: true, what: 'transient failures (5xx, resets, timeouts) outlasted --retries' },
  internal_error: { heals: true, what: 'a bug in avatar-import: please report it with the ledger line' },
} as const;

export type RowCode = keyof typeof ROW_CODES;

export class AvatarError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  /** For `retry-after`: how long the whole target should pause. */
  readonly retryAfterMs?: number;

  constructor(kind: ErrorKind, code: string, message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AvatarError';
    this.kind = kind;
    this.code = code;
    if (options?.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}

/** A failure that belongs to one row: the row gets a `failed` ledger line, the run goes on. */
export class RowError extends AvatarError {
  constructor(code: RowCode, message: string, options?: { cause?: unknown }) {
    super('row', code, message, options);
    this.name = 'RowError';
  }
}

/** A failure that ends the run (exit 3) before more rows are taken. */
export class FatalError extends AvatarError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super('fatal', code, message, options);
    this.name = 'FatalError';
  }
}

/** A mistake in how the tool was called: exit 2 before anything is sent. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function isAvatarError(error: unknown): error is AvatarError {
  return error instanceof AvatarError;
}

/** Whether a failed row with this code should be tried again without its input changing. */
export function heals(code: string): boolean {
  const known = (ROW_CODES as Record<string, { heals: boolean }>)[code];
  return known ? known.heals : true;
}
