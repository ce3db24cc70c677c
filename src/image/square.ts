// The sharp pipeline from source bytes to upright, square, flattened sRGB pixels. Its end (JPEG or
// raw pixels) is chosen by the caller, so the common case stays one pass.

import type { JpegOptions, Sharp } from 'sharp';
import { loadSharp } from './sharp.js';
import type { NormaliseOptions } from './options.js';
import { readOptions, type Probe } from './probe.js';

/**
 * Upright (EXIF orientation), cropped to a square and resized to `edge`, transparency flattened,
 * converted to sRGB through the embedded profile. Only the first frame/page is read (sharp's
 * default). Output metadata is stripped because nothing asks sharp to keep any.
 */
export function square(input: Buffer, probe: Pick<Probe, 'density' | 'wideSixteenBit'>, edge: number, options: NormaliseOptions, withoutEnlargement = false): Sharp {
  const sharp = loadSharp();
  const image = sharp(input, {
    ...readOptions(options),
    autoOrient: true,
    ...(probe.density === undefined ? {} : { density: probe.density }),
  })
    // `edge` is never above the short edge, so cover crops without enlarging; withoutEnlargement
    // would leave a 300×400 source at 300×400 instead of making it square (normalise.ts asks for it
    // only to find out, unprobed, whether the source was big enough).
    .resize(edge, edge, { fit: 'cover', position: options.crop === 'attention' ? sharp.strategy.attention : 'centre', ...(withoutEnlargement ? { withoutEnlargement } : {}) })
    .flatten({ background: options.background });
  if (probe.wideSixteenBit) {
    // Finish the P3 → sRGB conversion sharp leaves undone for 16-bit input (see Probe), without
    // attaching the profile.
    image.withIccProfile('srgb', { attach: false });
  }
  // Greyscale sources become 3-channel sRGB like everything else.
  return image.toColourspace('srgb');
}

/** Baseline JPEG: some targets and old clients mis-handle progressive ones. */
export function jpegOptions(quality: number): JpegOptions {
  return { quality, progressive: false };
}
