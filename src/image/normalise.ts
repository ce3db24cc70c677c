// The image stage: source bytes in, an Avatar out (square baseline sRGB JPEG, no metadata, under
// the byte cap), or a RowError saying why not. Same input and options give the same bytes: the
// ledger relies on it to recognise what it left on a target.

import { createHash } from 'node:crypto';
import type { Avatar } from '../targets/target.js';
import { fitToBytes, type Encoder } from './fit.js';
import { checkOptions, type NormaliseOptions } from './options.js';
import { heicToTiff } from './heic/decode.js';
import { probe, sniff, type Probe } from './probe.js';
import { toRowError } from './sharp-errors.js';
import { loadSharp } from './sharp.js';
import { jpegOptions, square } from './square.js';

export type { NormaliseOptions } from './options.js';
export { settingsKey } from './settings.js';

interface Pixels {
  readonly data: Buffer;
  readonly edge: number;
  readonly channels: 1 | 2 | 3 | 4;
}

function encoder(input: Buffer, probed: Probe, edge: number, options: NormaliseOptions): Encoder<Pixels> {
  return {
    encodeSource: (quality) => square(input, probed, edge, options).jpeg(jpegOptions(quality)).toBuffer(),
    decode: async () => {
      const { data, info } = await square(input, probed, edge, options).raw().toBuffer({ resolveWithObject: true });
      return { data, edge: info.width, channels: info.channels };
    },
    encodePixels: (pixels, target, quality) => {
      const image = loadSharp()(pixels.data, { raw: { width: pixels.edge, height: pixels.edge, channels: pixels.channels } });
      if (target < pixels.edge) image.resize(target, target);
      return image.jpeg(jpegOptions(quality)).toBuffer();
    },
  };
}

/**
 * Normalise one source image. Throws RowError (unsupported_image, image_too_large,
 * image_too_small, too_large_after_compression) for the row, UsageError for invalid options.
 */
export async function normalise(source: Buffer, options: NormaliseOptions): Promise<Avatar> {
  checkOptions(options);
  // HEIC/HEIF is decoded first (libvips cannot), then follows the same path as any photo.
  const input = sniff(source) === 'heic' ? await heicToTiff(source, options.maxPixels) : source;
  const probed = await probe(input, options);
  const edge = Math.min(options.size, probed.width, probed.height);
  try {
    const fitted = await fitToBytes(
      encoder(input, probed, edge, options),
      { edge, quality: options.quality },
      { maxBytes: options.maxBytes, minSize: options.minSize },
    );
    return {
      jpeg: fitted.jpeg,
      sha256: createHash('sha256').update(fitted.jpeg).digest('hex'),
      edge: fitted.edge,
      quality: fitted.quality,
    };
  } catch (error) {
    throw toRowError(error);
  }
}
