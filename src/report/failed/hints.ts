// What to do about a failed row, in words HR can act on. The code stays the stable key; a hint
// may be reworded freely. `image` is the photo cell as the CSV gives it, which is what HR knows.

const HINTS: Record<string, (image: string) => string> = {
  missing_value: () => 'fill in the empty id or photo cell, or leave the person out',
  malformed_record: () => 'fix the line in the export: quote values that contain the separator, and give every line as many fields as the header',
  invalid_encoding: () => 'save the export again as UTF-8 (or tell the admin its encoding): a name in this line has characters that cannot be read',
  duplicate_user: () => 'the person is listed twice: remove this line or correct its id (the earlier line was used)',
  duplicate_file_name: () => 'two people would get the same picture file (their ids differ only in upper/lower case): correct one of the ids',
  invalid_user_id: () => 'correct the user id: it is not valid for this system',
  path_outside_images_dir: (image) => `put the photo in the photos folder and give its path inside it (not ${image || 'this path'})`,
  url_not_allowed: () => 'give a photo file instead, or ask the admin to allow this web address (--allow-host)',
  file_not_found: (image) => `the photo file is missing: add ${image || 'the photo'} or fix the path`,
  file_unreadable: (image) => `the photo ${image || 'file'} exists but cannot be read: check its permissions`,
  fetch_failed: () => 'the photo link could not be downloaded: check that it opens in a browser',
  unsupported_image: (image) => `${image || 'the file'} is not a photo that can be read (corrupt, or SVG): export it as JPEG or PNG`,
  image_too_large: (image) => `${image || 'the photo'} is too large: send a smaller photo`,
  image_too_small: (image) => `${image || 'the photo'} is too small: send a larger photo (the message gives the minimum)`,
  too_large_after_compression: () => 'the photo cannot be made small enough: send a smaller or plainer photo',
  user_not_found: () => 'there is no such account: check the id, or create the account (the row is tried again on the next run)',
  user_deactivated: () => 'the account is deactivated: nothing to do, or reactivate it first',
  ambiguous_user: () => 'several accounts match: give an id that names one person (e.g. the e-mail address)',
  changed_by_user: () => 'the person chose their own picture; it was kept',
  avatar_changes_disabled: () => 'the system refuses avatar changes for this account: ask its administrator',
  credentials_invalid: () => "the account's credentials were refused: ask the administrator",
  upload_rejected: () => 'the system refused the picture: see the message, or send another photo',
  verify_failed: () => 'the picture did not stick: ask the administrator (the row is tried again)',
  backup_failed: () => 'the current picture could not be saved before replacing it: ask the administrator (see the message)',
  no_backup: () => 'the earlier picture was not kept, so it cannot be put back: ask the person to upload it again',
  target_error: () => 'the system refused the change: see the message and ask the administrator',
  retries_exhausted: () => 'a temporary server problem: the row is tried again on the next run',
  internal_error: () => 'a problem in avatar-import itself: send the message to the administrator',
};

export function hintFor(code: string, image: string): string {
  return HINTS[code]?.(image) ?? 'see the message, or ask the administrator';
}
