// The image options: declared once here (rule, default, doc), used by the CLI and config file
// (src/options/schema.ts) and by normalise itself, which checks again because scripts and tests call
// it directly and a bad option must be a usage error (exit 2), never a failed row per image.

import { loadSharp } from './sharp.js';
import { UsageError } from '../errors.js';
import { area, boolean, bytes, choice, integer, text } from '../options/declare.js';
import type { Values, Where } from '../options/declare.js';

export const imageArea = area('image', 'Image', {
  size: integer({
    arg: 'PX',
    min: 16,
    max: 4096,
    doc: 'edge of the square. A smaller source gives a smaller square, never an upscaled one.',
    help: "edge of the square avatar in pixels; smaller sources are never upscaled (default 512, or the target's preferred edge)",
    defaultDoc: "512 (or the target's preferred edge)",
    perTarget: true,
  }),
  'min-size': integer({
    arg: 'PX',
    min: 1,
    max: 4096,
    default: 96,
    doc: 'sources whose short edge is smaller fail with `image_too_small`.',
    help: 'refuse sources whose short edge is below this (image_too_small)',
  }),
  'max-bytes': bytes({
    arg: 'N',
    default: 1024 * 1024,
    defaultDoc: '1MiB',
    doc: "byte cap (`500k`, `5MiB`, `2MB`); the target's own limit caps it further.",
    help: 'largest avatar; quality, then edge, are stepped down to fit (accepts 500k, 5MiB); capped by the target',
    perTarget: true,
  }),
  quality: integer({
    arg: 'Q',
    min: 1,
    max: 100,
    default: 85,
    doc: 'JPEG quality to start from (1–100).',
    perTarget: true,
  }),
  crop: choice(['centre', 'attention'], {
    aliases: { center: 'centre' },
    default: 'centre',
    doc: 'where the square is cut: the centre, or the most interesting region (sharp attention).',
  }),
  background: text({
    arg: 'COLOUR',
    default: 'white',
    doc: 'CSS colour transparent pixels are flattened onto.',
    check: checkColour,
  }),
  'allow-svg': boolean({
    default: false,
    doc: 'accept SVG. Refused by default: an SVG can reference other files.',
    help: 'accept SVG sources (refused by default: an SVG can reference other files)',
  }),
  'max-pixels': integer({
    arg: 'N',
    min: 1,
    default: 100_000_000,
    doc: 'pixel-bomb guard, checked from the header before decoding (`image_too_large`).',
  }),
});

export type ImageValues = Values<typeof imageArea.options>;

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

/** The edge when neither --size nor the target's preferred edge says otherwise. */
export const DEFAULT_EDGE = 512;

const o = imageArea.options;
export const NORMALISE_DEFAULTS: Readonly<NormaliseOptions> = Object.freeze({
  size: DEFAULT_EDGE,
  minSize: o['min-size'].default!,
  maxBytes: o['max-bytes'].default!,
  quality: o.quality.default!,
  crop: o.crop.default!,
  background: o.background.default!,
  allowSvg: o['allow-svg'].default!,
  maxPixels: o['max-pixels'].default!,
});

/** Throws UsageError naming the flag, the value and what was expected (sharp's style). */
export function checkOptions(options: NormaliseOptions): void {
  o.size.parse(options.size, { flag: 'size' });
  o['min-size'].parse(options.minSize, { flag: 'min-size' });
  checkMinSize(options.minSize, options.size, 'the edge');
  o['max-bytes'].parse(options.maxBytes, { flag: 'max-bytes' });
  o.quality.parse(options.quality, { flag: 'quality' });
  o['max-pixels'].parse(options.maxPixels, { flag: 'max-pixels' });
  o.crop.parse(options.crop, { flag: 'crop' });
  o.background.parse(options.background, { flag: 'background' });
  o['allow-svg'].parse(options.allowSvg, { flag: 'allow-svg' });
}

/** The one rule between two options: the floor cannot be above the edge. */
export function checkMinSize(minSize: number, edge: number, what = '--size'): void {
  if (minSize > edge) throw new UsageError(`--min-size (${minSize}) cannot be larger than ${what} (${edge})`);
}

// The default (white) is known to be valid: checking it would load sharp at every start-up.
const knownColours = new Set<string>(['white']);

function checkColour(colour: string, where: Where): string {
  if (!knownColours.has(colour)) {
    try {
      // sharp parses colours when the operation is declared, before any image is read.
      loadSharp()().flatten({ background: colour });
    } catch {
      throw new UsageError(`--${where.flag} expects a CSS colour such as white, #f0f0f0 or rgb(240,240,240), got ${JSON.stringify(colour)}${where.origin ? ` (${where.origin})` : ''}`);
    }
    knownColours.add(colour);
  }
  return colour;
}
