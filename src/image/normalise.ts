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
 * Most photos in one sharp call: a JPEG (what every camera and HR system saves) whose short edge is
 * at least `size` needs nothing the probe finds out (its format is in its first bytes, no 16-bit
 * colour, and the edge is `size`), so the square is made straight away, refusing to enlarge. An
 * answer of exactly `size` × `size` under the byte cap is then the very avatar the probed path
 * makes (the same pipeline: not enlarging changes nothing when nothing needs enlarging). Anything
 * else (a smaller source, which comes out not square; too many bytes; any error, a pixel bomb
 * included, which sharp refuses from the header) is undefined, and normalise() takes the probed
 * path, which says why. The probe cost ~0.3 ms of CPU a photo, ~1.5 % of a 2 MP photo's work.
 */
async function unprobed(input: Buffer, options: NormaliseOptions): Promise<Avatar | undefined> {
  // FF D8 FF: how libvips recognises a JPEG. (--min-size is never above --size: checkOptions.)
  if (input[0] !== 0xff || input[1] !== 0xd8 || input[2] !== 0xff) return undefined;
  let made: { data: Buffer; info: { width: number; height: number } };
  try {
    made = await square(input, { wideSixteenBit: false }, options.size, options, true).jpeg(jpegOptions(options.quality)).toBuffer({ resolveWithObject: true });
  } catch {
    return undefined;
  }
  const { data, info } = made;
  if (info.width !== options.size || info.height !== options.size || data.length > options.maxBytes) return undefined;
  return { jpeg: data, sha256: createHash('sha256').update(data).digest('hex'), edge: options.size, quality: options.quality };
}

/**
 * Normalise one source image. Throws RowError (unsupported_image, image_too_large,
 * image_too_small, too_large_after_compression) for the row, UsageError for invalid options.
 */
export async function normalise(source: Buffer, options: NormaliseOptions): Promise<Avatar> {
  checkOptions(options);
  // HEIC/HEIF is decoded first (libvips cannot), then follows the same path as any photo.
  const input = sniff(source) === 'heic' ? await heicToTiff(source, options.maxPixels) : source;
  const quick = await unprobed(input, options);
  if (quick) return quick;
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
