import type { RowCode } from '../../errors.js';

// What to do about each row error code, for `ledger failed` and `ledger status`: the README's row
// error code table says what a code means; this says what to change so that the next run passes.
// Every code in ROW_CODES has a hint (a test checks it).

export const HINTS: Readonly<Record<RowCode, string>> = {
  missing_value: 'fill in the empty id or image cell in the CSV',
  malformed_record: 'fix the record in the CSV (column count, quoting) at the line given',
  duplicate_user: 'remove the second row for this user from the CSV (the first one is used)',
  invalid_user_id: 'correct the user id (or --user-template) so the target accepts it; bots are never changed',
  path_outside_images_dir: 'point the image cell inside --images-dir, or run with the right --images-dir',
  url_not_allowed: 'add the host with --allow-host, or use an https URL on an allowed host',
  file_not_found: 'put the photo where the image cell says (tried again on every run)',
  file_unreadable: 'make the photo a readable regular file (permissions); tried again on every run',
  fetch_failed: 'check the URL answers 200 with the image; tried again on every run',
  unsupported_image: 'replace the photo with a JPEG, PNG or WebP (HEIC: convert it first), then run again',
  image_too_large: 'use a smaller photo, or raise --max-pixels / --max-source-bytes',
  image_too_small: 'use a larger photo, or lower --min-size',
  too_large_after_compression: 'raise --max-bytes, or lower --size',
  user_not_found: 'create the user on the target, or correct the id; tried again on every run',
  user_deactivated: 'reactivate the user if they should have an avatar; otherwise remove the row',
  ambiguous_user: 'make the id unique on the target (or match by another attribute)',
  changed_by_user: 'nothing: the user chose their own avatar (--overwrite-user-changes replaces it)',
  avatar_changes_disabled: 'allow avatar changes for this user on the target, then --retry-failed',
  credentials_invalid: "fix this user's credential (key file or --credentials), then --retry-failed",
  upload_rejected: 'see the message: the target refused this image; replace it or raise the target\'s limit, then --retry-failed',
  verify_failed: 'the target did not keep what was written: check it (proxy, storage), then --retry-failed',
  target_error: 'see the message; once fixed on the target, run with --retry-failed',
  retries_exhausted: 'the target kept failing (5xx, timeouts): tried again on the next run; raise --retries if it persists',
  internal_error: 'a bug in avatar-import: please report it with this ledger line',
};

/** The hint for `code`, or a generic one for a target's own code. */
export function hintFor(code: string): string {
  return (HINTS as Record<string, string>)[code] ?? 'see the message; once the cause is fixed, run with --retry-failed';
}
