// The ledger skips a row only when it was normalised with the same settings; this key names them.

import { createHash } from 'node:crypto';
import { checkOptions, type NormaliseOptions } from './options.js';

/**
 * Bump when normalise's own output for the same options changes (a new step, a changed ladder),
 * so that the next run re-does every avatar once. sharp/libvips versions are deliberately not in
 * the key: an npm upgrade that shifts a few encoder bits must not re-upload 100 000 avatars.
 */
const NORMALISE_VERSION = 1;

/**
 * A short stable hash (16 hex of sha256) of every option that can change the output bytes.
 * allowSvg and maxPixels only decide whether an image is accepted, never what an accepted one
 * looks like, so changing them does not invalidate done rows. Also validates the options.
 */
export function settingsKey(options: NormaliseOptions): string {
  checkOptions(options);
  const material = JSON.stringify({
    v: NORMALISE_VERSION,
    size: options.size,
    // Also the floor of the edge steps that fit maxBytes.
    minSize: options.minSize,
    maxBytes: options.maxBytes,
    quality: options.quality,
    crop: options.crop,
    // 'White' and 'white' are one colour: do not redo rows over the spelling.
    background: options.background.trim().toLowerCase(),
  });
  return createHash('sha256').update(material).digest('hex').slice(0, 16);
}
