import { loadSharp } from '../../image/sharp.js';
import { sniff } from '../../image/probe.js';

// The contact sheet's pictures: small JPEGs, so a sheet of 10 000 rows stays a few tens of MB and
// opens fast. Sources are untrusted: only raster formats the pipeline reads are shown (no SVG,
// which can reference other files, and no pixel bombs), and any failure means "no picture", never
// a failed row.

/** Thumbnail box in pixels: twice the card's 64 CSS px, sharp on high-density screens. */
export const THUMB_EDGE = 128;
const QUALITY = 70;

/** The source as it looks upright, fitted inside the box (not cropped: the crop is what to judge). */
export async function sourceThumbnail(input: Buffer, maxPixels: number): Promise<Buffer | undefined> {
  if (sniff(input) !== undefined) return undefined;
  try {
    return await loadSharp()(input, { failOn: 'error', limitInputPixels: maxPixels, autoOrient: true })
      .resize(THUMB_EDGE, THUMB_EDGE, { fit: 'inside', withoutEnlargement: true })
      .flatten({ background: 'white' })
      .toColourspace('srgb')
      .jpeg({ quality: QUALITY })
      .toBuffer();
  } catch {
    return undefined;
  }
}

/** The avatar as sent, scaled down (it is already square, sRGB and upright). */
export async function avatarThumbnail(jpeg: Buffer): Promise<Buffer | undefined> {
  try {
    return await loadSharp()(jpeg, { failOn: 'error' })
      .resize(THUMB_EDGE, THUMB_EDGE, { fit: 'cover', withoutEnlargement: true })
      .jpeg({ quality: QUALITY })
      .toBuffer();
  } catch {
    return undefined;
  }
}
