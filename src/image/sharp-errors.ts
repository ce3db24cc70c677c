// sharp reports everything as a plain Error with a libvips message; rows need a stable code.

import { RowError } from '../errors.js';

/** Classify anything thrown while reading or encoding an image. RowErrors pass through. */
export function toRowError(error: unknown): RowError {
  if (error instanceof RowError) return error;
  // libvips messages can run to several lines of backtrace; the first says what happened.
  const detail = (error instanceof Error ? error.message : String(error)).split('\n')[0]!.trim();
  if (/exceeds pixel limit/i.test(detail)) {
    return new RowError('image_too_large', `the image has more pixels than --max-pixels (${detail})`, { cause: error });
  }
  if (/unsupported image format|input buffer is empty/i.test(detail)) {
    return new RowError('unsupported_image', 'not an image: the bytes are in no format that can be read', { cause: error });
  }
  return new RowError('unsupported_image', `corrupt or truncated image: ${detail}`, { cause: error });
}
