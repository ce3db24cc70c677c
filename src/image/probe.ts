// Decide from the first bytes and the header alone whether an image may be decoded, and how.
// Everything here is cheap (no pixel is decoded): refusals cost microseconds, and a pixel bomb is
// refused before libvips allocates anything for it.

import type { Metadata, SharpOptions } from 'sharp';
import { loadSharp } from './sharp.js';
import { RowError } from '../errors.js';
import type { NormaliseOptions } from './options.js';
import { toRowError } from './sharp-errors.js';

export type AcceptedFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'avif' | 'svg';

export interface Probe {
  readonly format: AcceptedFormat;
  /** Upright size in px (EXIF orientation applied; for SVG, as it will be rendered). */
  readonly width: number;
  readonly height: number;
  /**
   * 16-bit RGB with an embedded profile. sharp imports such images into a P3 working space and,
   * unlike 8-bit ones, never converts them back: without an explicit sRGB transform the output's
   * colours are P3 values read as sRGB (skin turns grey-ish). See square.ts.
   */
  readonly wideSixteenBit: boolean;
  /** SVG only: render density (DPI) that puts the short edge at `size`. */
  readonly density?: number;
}

/** Options for every sharp call on untrusted input. */
export function readOptions(options: Pick<NormaliseOptions, 'maxPixels'>): SharpOptions {
  return {
    // 'error' refuses truncated and corrupt data (no grey half images) but accepts files with
    // mere warnings, such as a few extraneous bytes between JPEG markers, which viewers show fine
    // and which are common in photos that went through old HR systems.
    failOn: 'error',
    // The probe has already checked this; kept as a second lock on the same door.
    limitInputPixels: options.maxPixels,
  };
}

const HEVC_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'hevm', 'hevs']);
/** HEIF without a codec brand: libheif decides what is inside. */
const HEIF_BRANDS = new Set(['mif1', 'msf1']);
const AVIF_BRANDS = new Set(['avif', 'avis']);

type Sniffed = 'heic' | 'svg' | 'gzip' | 'markup';

/** First bytes after which the text may still start with '<' once a BOM and white space (as
 * String.prototype.trimStart sees it) are stripped: '<', ASCII white space, and the UTF-8 lead bytes
 * of the other white space characters and of the BOM. */
const MAY_START_MARKUP = new Set([0x3c, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0xc2, 0xe1, 0xe2, 0xe3, 0xef]);

/** Recognise, from magic bytes, the inputs sharp must not parse as they are: HEIC (decoded by
 * libheif first, see heic/decode.ts) and those to refuse. */
export function sniff(input: Buffer): Sniffed | undefined {
  // ISO-BMFF (HEIF family): the ftyp box lists brands; AVIF shares the container.
  if (input.length >= 16 && input.toString('latin1', 4, 8) === 'ftyp') {
    const end = Math.min(input.readUInt32BE(0), input.length, 4096);
    const brands = [input.toString('latin1', 8, 12)];
    for (let offset = 16; offset + 4 <= end; offset += 4) brands.push(input.toString('latin1', offset, offset + 4));
    if (brands.some((brand) => AVIF_BRANDS.has(brand))) return undefined;
    if (brands.some((brand) => HEVC_BRANDS.has(brand) || HEIF_BRANDS.has(brand))) return 'heic';
    return undefined;
  }
  // libvips also reads gzip-compressed SVG (SVGZ).
  if (input[0] === 0x1f && input[1] === 0x8b) return 'gzip';
  // Markup starts with '<' after a BOM or white space. Every photo format starts with a byte that
  // can begin none of them (UTF-8: '<', ASCII space, or the lead byte of U+00A0, U+1680, U+2000–
  // U+3000 or U+FEFF), so the decoding below (4 KB a photo, twice a row) is skipped for them.
  if (!MAY_START_MARKUP.has(input[0]!)) return undefined;
  const head = input.toString('utf8', 0, 4096).replace(/^\uFEFF/, '').trimStart();
  if (head.startsWith('<')) return /<svg[\s>/]/i.test(head) ? 'svg' : 'markup';
  return undefined;
}

const SVG_REFUSED =
  'SVG is refused by default: an SVG can reference other files and URLs, which would be read while rendering it; opt in with --allow-svg if the images are trusted';

function refuseSniffed(sniffed: Sniffed, allowSvg: boolean): void {
  switch (sniffed) {
    case 'heic':
      // normalise() decodes these with libheif before probing; reaching here means it did not.
      throw new RowError('unsupported_image', 'HEIC/HEIF must be decoded before it is probed (heic/decode.ts)');
    case 'svg':
      if (!allowSvg) throw new RowError('unsupported_image', SVG_REFUSED);
      return;
    case 'gzip':
      if (!allowSvg) throw new RowError('unsupported_image', `gzip-compressed data (SVGZ?) is not an accepted image. ${SVG_REFUSED}`);
      return;
    case 'markup':
      throw new RowError('unsupported_image', 'not an image: the file is HTML/XML text (an error or login page saved instead of a photo?)');
  }
}

function acceptedFormat(metadata: Metadata, allowSvg: boolean): AcceptedFormat {
  const format = metadata.format as string;
  switch (format) {
    case 'jpeg':
    case 'png':
    case 'webp':
    case 'gif':
    case 'tiff':
      return format;
    case 'heif':
      if (metadata.compression === 'av1') return 'avif';
      refuseSniffed('heic', allowSvg);
      break;
    case 'svg':
      refuseSniffed('svg', allowSvg);
      return 'svg';
  }
  throw new RowError('unsupported_image', `${format} images are not accepted (accepted: JPEG, PNG, WebP, GIF, TIFF, AVIF${allowSvg ? ', SVG' : ''})`);
}

/** Read the header and refuse what must not be decoded. Throws RowError only. */
export async function probe(input: Buffer, options: NormaliseOptions): Promise<Probe> {
  if (input.length === 0) throw new RowError('unsupported_image', 'not an image: the file is empty');
  const sniffed = sniff(input);
  if (sniffed) refuseSniffed(sniffed, options.allowSvg);

  let metadata: Metadata;
  try {
    // No pixel limit here: the header is all that is read, and the check below names the size.
    metadata = await loadSharp()(input, { ...readOptions(options), limitInputPixels: false }).metadata();
  } catch (error) {
    throw toRowError(error);
  }
  const format = acceptedFormat(metadata, options.allowSvg);

  // For animations metadata describes one frame, and only the first frame is decoded.
  let { width, height } = metadata.autoOrient;
  let density: number | undefined;
  if (format === 'svg') {
    // A vector has no "too small": render it so that its short edge is the target size.
    const scale = options.size / Math.min(width, height);
    density = Math.min(100_000, Math.max(1, (metadata.density ?? 72) * scale));
    width = Math.round(width * scale);
    height = Math.round(height * scale);
  }

  const pixels = width * height;
  if (pixels > options.maxPixels) {
    throw new RowError(
      'image_too_large',
      `${width}×${height} is ${(pixels / 1e6).toFixed(1)} MP, over --max-pixels ${(options.maxPixels / 1e6).toFixed(1)} MP (refused without decoding)`,
    );
  }
  const shortEdge = Math.min(width, height);
  if (shortEdge < options.minSize) {
    throw new RowError('image_too_small', `the short edge is ${shortEdge} px (${width}×${height}), under --min-size ${options.minSize}`);
  }

  return {
    format,
    width,
    height,
    wideSixteenBit: metadata.space === 'rgb16' && metadata.hasProfile,
    ...(density === undefined ? {} : { density }),
  };
}
