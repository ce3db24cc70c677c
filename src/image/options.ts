// The normalisation options and their validation. The CLI validates flags once at start (calling
// settingsKey does it); normalise checks again because it is also called by scripts and tests,
// and a bad option must be a usage error (exit 2), never a failed row per image.

import sharp from 'sharp';
import { UsageError } from '../errors.js';

export interface NormaliseOptions {
  /** Target edge in px (default 512). Smaller sources give a smaller square: never upscaled. */
  size: number;
  /** A short edge below this fails the row with image_too_small (default 96); also the floor
   * when the edge is reduced to fit maxBytes. */
  minSize: number;
  /** Output cap in bytes (default 1 MiB). */
  maxBytes: number;
  /** Starting JPEG quality, 1-100 (default 85); lowered stepwise to fit maxBytes. */
  quality: number;
  crop: 'centre' | 'attention';
  /** CSS colour that transparency is flattened onto (default 'white'). */
  background: string;
  /** SVG is refused unless true: it can reference other files. */
  allowSvg: boolean;
  /** Pixel-bomb cap, checked from the header before decoding (default 100 MP, below sharp's 268 MP). */
  maxPixels: number;
}

export const NORMALISE_DEFAULTS: Readonly<NormaliseOptions> = Object.freeze({
  size: 512,
  minSize: 96,
  maxBytes: 1024 * 1024,
  quality: 85,
  crop: 'centre',
  background: 'white',
  allowSvg: false,
  maxPixels: 100_000_000,
});

const knownColours = new Set<string>();

function integer(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
}

/** Throws UsageError naming the flag, the value and what was expected (sharp's style). */
export function checkOptions(options: NormaliseOptions): void {
  // 16383 is libvips' largest JPEG dimension.
  integer('--size', options.size, 1, 16383);
  integer('--min-size', options.minSize, 1, options.size);
  integer('--max-bytes', options.maxBytes, 1, Number.MAX_SAFE_INTEGER);
  integer('--quality', options.quality, 1, 100);
  integer('--max-pixels', options.maxPixels, 1, Number.MAX_SAFE_INTEGER);
  if (options.crop !== 'centre' && options.crop !== 'attention') {
    throw new UsageError(`--crop must be one of centre, attention, got ${String(options.crop)}`);
  }
  if (!knownColours.has(options.background)) {
    try {
      // sharp parses colours when the operation is declared, before any image is read.
      sharp().flatten({ background: options.background });
    } catch {
      throw new UsageError(`--background must be a CSS colour (white, #fff, rgb(255 255 255)), got ${JSON.stringify(options.background)}`);
    }
    knownColours.add(options.background);
  }
  if (typeof options.allowSvg !== 'boolean') throw new UsageError(`--allow-svg must be a boolean, got ${String(options.allowSvg)}`);
}
