// Deterministic image generators for tests, fixtures and benchmarks. Every function returns the same
// bytes for the same arguments and sharp version (noise comes from a seeded PRNG), so a fixture
// script can regenerate `fixtures/` and a benchmark measures the same work on every machine.
//
// Where a test needs an oracle (what the right pixels are) and the math is public, it is done here
// rather than by sharp (EXIF orientation, Adobe RGB), so a test does not check sharp against itself.

import { createHash } from 'node:crypto';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';

export type Rgb = readonly [number, number, number];

// jest runs tests in a vm context, where every lookup of a global such as `Math` goes through an
// interceptor and costs ~100× more: hot pixel loops use these module-level aliases instead.
const { imul, sqrt } = Math;

/**
 * A light skin tone in sRGB: tools that drop an ICC profile without converting get skin wrong.
 * Chosen so that it survives a round trip through the built-in CMYK profile (perceptual intent,
 * whose tables are not exact inverses) within a few levels, while its values read without the
 * profile are 10+ levels off in every test space (Display P3, CMYK, Adobe RGB, 16-bit Adobe RGB).
 */
export const SKIN: Rgb = [230, 150, 140];

/** Put into every comment/description field of `cameraPhoto`: it must never appear in an output. */
export const COMMENT_MARKER = 'avatar-import-test-comment-7f3a';

/** EXIF orientation values, 1 (upright) to 8. */
export type Orientation = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;
export const ORIENTATIONS: readonly Orientation[] = [1, 2, 3, 4, 5, 6, 7, 8];

// ---------------------------------------------------------------------------------------------
// Pixels

/** mulberry32: tiny, fast and good enough for image noise; seeded so outputs are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Raw interleaved pixels of one colour (3 or 4 channels, 8-bit). */
export function solidPixels(width: number, height: number, colour: readonly number[]): Buffer {
  const channels = colour.length;
  const data = Buffer.alloc(width * height * channels);
  for (let i = 0; i < data.length; i += channels) for (let c = 0; c < channels; c++) data[i + c] = colour[c]!;
  return data;
}

/** A sharp instance over raw 8-bit pixels. */
export function fromPixels(data: Buffer, width: number, height: number, channels: 3 | 4 = 3): Sharp {
  return sharp(data, { raw: { width, height, channels } });
}

/** A flat sRGB image in the given format (quality 95 where lossy, so colours survive). */
export function solidImage(
  format: 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'avif',
  colour: Rgb,
  size: { width: number; height: number } = { width: 128, height: 128 },
): Promise<Buffer> {
  const image = fromPixels(solidPixels(size.width, size.height, colour), size.width, size.height);
  switch (format) {
    case 'jpeg': return image.jpeg({ quality: 95 }).toBuffer();
    case 'png': return image.png().toBuffer();
    case 'webp': return image.webp({ quality: 95 }).toBuffer();
    case 'gif': return image.gif().toBuffer();
    case 'tiff': return image.tiff().toBuffer();
    case 'avif': return image.avif({ quality: 90, effort: 0 }).toBuffer();
  }
}

/** The colours of `quadrantPixels`' quarters as seen upright: top-left, top-right, bottom-left, bottom-right. */
export const QUADRANTS = {
  topLeft: [220, 30, 30] as Rgb,
  topRight: [30, 180, 30] as Rgb,
  bottomLeft: [30, 30, 220] as Rgb,
  bottomRight: [240, 220, 30] as Rgb,
};

function quadrantAt(x: number, y: number, width: number, height: number): Rgb {
  const right = x >= width / 2;
  const bottom = y >= height / 2;
  if (bottom) return right ? QUADRANTS.bottomRight : QUADRANTS.bottomLeft;
  return right ? QUADRANTS.topRight : QUADRANTS.topLeft;
}

/**
 * Where a stored pixel lands when the image is shown as its EXIF orientation says (the display
 * transform of the EXIF 2.3 spec, written out here so that tests do not rely on sharp's own).
 */
function displayed(orientation: Orientation, x: number, y: number, storedWidth: number, storedHeight: number): [number, number] {
  const w = storedWidth - 1;
  const h = storedHeight - 1;
  switch (orientation) {
    case 1: return [x, y];
    case 2: return [w - x, y];
    case 3: return [w - x, h - y];
    case 4: return [x, h - y];
    case 5: return [y, x];
    case 6: return [h - y, x];
    case 7: return [h - y, w - x];
    case 8: return [y, w - x];
  }
}

/**
 * A JPEG whose *upright* picture is `width`×`height` with four coloured quarters (see QUADRANTS),
 * stored the way a camera held in that orientation would store it, tagged with `orientation`.
 * A viewer that ignores the tag shows it rotated or mirrored; one that applies it shows QUADRANTS.
 */
export async function quadrantJpeg(options: { width: number; height: number; orientation: Orientation }): Promise<Buffer> {
  const { width, height, orientation } = options;
  const transposed = orientation >= 5;
  const storedWidth = transposed ? height : width;
  const storedHeight = transposed ? width : height;
  const data = Buffer.alloc(storedWidth * storedHeight * 3);
  for (let y = 0; y < storedHeight; y++) {
    for (let x = 0; x < storedWidth; x++) {
      const [dx, dy] = displayed(orientation, x, y, storedWidth, storedHeight);
      const colour = quadrantAt(dx, dy, width, height);
      data.set(colour, (y * storedWidth + x) * 3);
    }
  }
  return fromPixels(data, storedWidth, storedHeight).withMetadata({ orientation }).jpeg({ quality: 95 }).toBuffer();
}

// ---------------------------------------------------------------------------------------------
// Camera-like JPEGs

/**
 * A camera-like JPEG: smooth gradients, a few soft shapes and per-pixel sensor noise, so it
 * compresses like a photo (12 MP comes out at a few MB), with the metadata a phone writes:
 * EXIF (make, model, orientation, GPS position), XMP, an sRGB ICC profile, IPTC and a JPEG
 * comment, every text carrying COMMENT_MARKER. `orientation` tags the stored pixels as a camera
 * held that way would (pixels stay as generated: landscape sensor, rotated by the viewer).
 */
export async function cameraPhoto(options: {
  width: number;
  height: number;
  seed?: number;
  orientation?: Orientation;
  quality?: number;
}): Promise<Buffer> {
  const { width, height, seed = 1, orientation = 1, quality = 92 } = options;
  const jpeg = await fromPixels(photoPixels(width, height, seed), width, height)
    .withMetadata({ orientation })
    .withExifMerge({
      IFD0: { Make: 'AvatarCam', Model: 'Test 1', ImageDescription: COMMENT_MARKER, Artist: 'HR' },
      IFD2: { UserComment: COMMENT_MARKER, DateTimeOriginal: '2024:05:06 07:08:09' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '52/1 31/1 12/1', GPSLongitudeRef: 'E', GPSLongitude: '13/1 24/1 18/1' },
    })
    .withXmp(xmpPacket(COMMENT_MARKER))
    .jpeg({ quality })
    .toBuffer();
  return insertJpegSegments(jpeg, [jpegComment(COMMENT_MARKER), iptcSegment(COMMENT_MARKER)]);
}

/** Raw RGB pixels of a synthetic photo: sky-to-ground gradient, a soft "face" disc, noise. */
export function photoPixels(width: number, height: number, seed: number): Buffer {
  const random = prng(seed);
  const data = Buffer.alloc(width * height * 3);
  // Clamps and rounds on assignment, like a sensor's ADC.
  const out = new Uint8ClampedArray(data.buffer, data.byteOffset, data.length);
  // Per-image variation so a batch of photos is not one image repeated.
  const hue = random() * 60;
  const cx = width * (0.35 + random() * 0.3);
  const cy = height * (0.35 + random() * 0.3);
  const radius = Math.min(width, height) * (0.2 + random() * 0.1);
  const green = Float32Array.from({ length: width }, (_, x) => 120 + (60 * x) / width);
  const [skinR, skinG, skinB] = SKIN;
  // The noise state is a local integer (mulberry32 inlined): 12 MP must take well under a second.
  let state = (seed * 0x9e3779b9) >>> 0;
  let i = 0;
  for (let y = 0; y < height; y++) {
    const v = y / height;
    const red = 90 + 100 * v + hue;
    const blue = 200 - 120 * v;
    const dy2 = (y - cy) * (y - cy);
    for (let x = 0; x < width; x++) {
      let r = red;
      let g = green[x]!;
      let b = blue;
      const d2 = (x - cx) * (x - cx) + dy2;
      if (d2 < radius * radius) {
        // A soft disc in a skin tone, blended at its rim.
        const k = (1 - sqrt(d2) / radius) * 4;
        const blend = k < 1 ? k : 1;
        r += (skinR - r) * blend;
        g += (skinG - g) * blend;
        b += (skinB - b) * blend;
      }
      state = (state + 0x6d2b79f5) | 0;
      let t = imul(state ^ (state >>> 15), state | 1);
      t ^= t + imul(t ^ (t >>> 7), t | 61);
      const n = t ^ (t >>> 14);
      // One draw split into three grain values of ±12 levels.
      out[i++] = r + ((n & 1023) - 512) * 0.0234;
      out[i++] = g + (((n >> 10) & 1023) - 512) * 0.0234;
      out[i++] = b + (((n >> 20) & 1023) - 512) * 0.0234;
    }
  }
  return data;
}

function xmpPacket(text: string): string {
  return (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>' +
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' +
    '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/">' +
    `<dc:description><rdf:Alt><rdf:li xml:lang="x-default">${text}</rdf:li></rdf:Alt></dc:description>` +
    '<xmp:CreatorTool>AvatarCam</xmp:CreatorTool></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
  );
}

/**
 * A lossless PNG of pure per-pixel noise: the worst case for JPEG size (about 0.4 MB at 512 px,
 * quality 85), for exercising the byte cap.
 */
export function noisePng(options: { size?: number; seed?: number } = {}): Promise<Buffer> {
  const { size = 512, seed = 1 } = options;
  const random = prng(seed);
  const data = Buffer.alloc(size * size * 3);
  for (let i = 0; i < data.length; i++) data[i] = (random() * 256) | 0;
  return fromPixels(data, size, size).png({ compressionLevel: 1 }).toBuffer();
}

// ---------------------------------------------------------------------------------------------
// JPEG and PNG byte surgery (for metadata sharp cannot write, and for broken files)

function segment(marker: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header[0] = 0xff;
  header[1] = marker;
  header.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([header, payload]);
}

/** A JPEG COM (comment) segment. */
export function jpegComment(text: string): Buffer {
  return segment(0xfe, Buffer.from(text, 'latin1'));
}

/** An APP13 "Photoshop 3.0" segment holding one IPTC caption record. */
export function iptcSegment(caption: string): Buffer {
  const text = Buffer.from(caption, 'latin1');
  const record = Buffer.concat([Buffer.from([0x1c, 0x02, 0x78, text.length >> 8, text.length & 0xff]), text]);
  const padded = record.length % 2 ? Buffer.concat([record, Buffer.alloc(1)]) : record;
  const resource = Buffer.alloc(12);
  resource.write('8BIM', 0, 'latin1');
  resource.writeUInt16BE(0x0404, 4); // IPTC-NAA resource
  resource.writeUInt16BE(0, 6); // empty Pascal name, padded to even
  resource.writeUInt32BE(record.length, 8);
  return segment(0xed, Buffer.concat([Buffer.from('Photoshop 3.0\0', 'latin1'), resource, padded]));
}

/** Insert segments after the APPn segments that follow SOI, where writers put metadata. */
export function insertJpegSegments(jpeg: Buffer, segments: Buffer[]): Buffer {
  let offset = 2;
  while (jpeg[offset] === 0xff && jpeg[offset + 1]! >= 0xe0 && jpeg[offset + 1]! <= 0xef) {
    offset += 2 + jpeg.readUInt16BE(offset + 2);
  }
  return Buffer.concat([jpeg.subarray(0, offset), ...segments, jpeg.subarray(offset)]);
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(data: Buffer): number {
  let c = 0xffffffff;
  for (const byte of data) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** One PNG chunk with its length and CRC. */
export function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])));
  return Buffer.concat([head, data, crc]);
}

/** Insert chunks right after IHDR (where iCCP must go: before PLTE and IDAT). */
export function insertPngChunks(png: Buffer, chunks: Buffer[]): Buffer {
  const afterIhdr = 8 + 8 + png.readUInt32BE(8) + 4;
  return Buffer.concat([png.subarray(0, afterIhdr), ...chunks, png.subarray(afterIhdr)]);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * A "pixel bomb": a valid PNG header claiming `width`×`height` (default 30000×30000, 900 MP) with a
 * few bytes of pixel data. Decoding it would need gigabytes; reading the header costs nothing.
 */
export function pngPixelBomb(options: { width?: number; height?: number } = {}): Buffer {
  const { width = 30000, height = 30000 } = options;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // truecolour
  const firstRow = deflateSync(Buffer.alloc(1 + width * 3));
  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', firstRow), pngChunk('IEND', Buffer.alloc(0))]);
}

/** The first `fraction` of a valid image's bytes: what an interrupted download leaves. */
export function truncated(image: Buffer, fraction = 0.6): Buffer {
  return Buffer.from(image.subarray(0, Math.floor(image.length * fraction)));
}

/** A truncated camera JPEG: a lenient decoder returns the top part over grey. */
export async function truncatedJpeg(): Promise<Buffer> {
  return truncated(await cameraPhoto({ width: 640, height: 480, seed: 7 }));
}

// ---------------------------------------------------------------------------------------------
// Formats that are refused or need care

/** A small SVG: a skin-coloured square on white, `size` user units wide. */
export function svg(options: { size?: number; colour?: Rgb } = {}): Buffer {
  const { size = 64, colour = SKIN } = options;
  return Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
      `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}">` +
      `<rect width="${size}" height="${size}" fill="rgb(${colour.join(',')})"/></svg>\n`,
  );
}

/**
 * The start of a HEIC file as an iPhone writes it: an ISO-BMFF `ftyp` box with brand `heic`
 * (compatible `mif1`, `heic`), then an empty `meta` box. Enough to be recognised, not decoded.
 */
export function fakeHeic(brand = 'heic'): Buffer {
  const ftyp = Buffer.alloc(24);
  ftyp.writeUInt32BE(24, 0);
  ftyp.write('ftyp', 4, 'latin1');
  ftyp.write(brand, 8, 'latin1');
  ftyp.writeUInt32BE(0, 12);
  ftyp.write('mif1', 16, 'latin1');
  ftyp.write(brand, 20, 'latin1');
  const meta = Buffer.alloc(12);
  meta.writeUInt32BE(12, 0);
  meta.write('meta', 4, 'latin1');
  return Buffer.concat([ftyp, meta]);
}

/** A PNG whose left half is fully transparent and right half is opaque `colour`. */
export function halfTransparentPng(options: { width?: number; height?: number; colour?: Rgb } = {}): Promise<Buffer> {
  const { width = 200, height = 120, colour = [30, 30, 220] } = options;
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      // The hidden colour under the transparent half is red on purpose: it must not show through.
      if (x < width / 2) data.set([255, 0, 0, 0], i);
      else data.set([...colour, 255], i);
    }
  }
  return fromPixels(data, width, height, 4).png().toBuffer();
}

/** An animated GIF or WebP, one flat colour per frame. */
export function animated(
  format: 'gif' | 'webp',
  options: { size?: number; frames?: readonly Rgb[] } = {},
): Promise<Buffer> {
  const { size = 120, frames = [[220, 30, 30], [30, 180, 30], [30, 30, 220]] } = options;
  const data = Buffer.concat(frames.map((colour) => solidPixels(size, size, colour)));
  const image = sharp(data, { raw: { width: size, height: size * frames.length, channels: 3, pageHeight: size } });
  const delay = frames.map(() => 100);
  return format === 'gif' ? image.gif({ delay, loop: 0 }).toBuffer() : image.webp({ delay, loop: 0, quality: 95 }).toBuffer();
}

// ---------------------------------------------------------------------------------------------
// Colour spaces

type Matrix = readonly [readonly [number, number, number], readonly [number, number, number], readonly [number, number, number]];
type Xy = readonly [number, number];

const D65: Xy = [0.3127, 0.329];
/** The ICC profile connection space illuminant, as the ICC spec writes it. */
const D50_XYZ = [0.9642, 1.0, 0.8249] as const;

/** Adobe RGB (1998), from Adobe's published specification. */
export const ADOBE_RGB = {
  red: [0.64, 0.33] as Xy,
  green: [0.21, 0.71] as Xy,
  blue: [0.15, 0.06] as Xy,
  white: D65,
  gamma: 563 / 256,
};

const SRGB = { red: [0.64, 0.33] as Xy, green: [0.3, 0.6] as Xy, blue: [0.15, 0.06] as Xy, white: D65 };

function xyToXyz([x, y]: Xy): [number, number, number] {
  return [x / y, 1, (1 - x - y) / y];
}

function multiply(a: Matrix, b: Matrix): Matrix {
  const row = (i: number) => [0, 1, 2].map((j) => a[i]![0] * b[0]![j]! + a[i]![1] * b[1]![j]! + a[i]![2] * b[2]![j]!) as unknown as readonly [number, number, number];
  return [row(0), row(1), row(2)];
}

function apply(m: Matrix, v: readonly number[]): [number, number, number] {
  return [0, 1, 2].map((i) => m[i]![0] * v[0]! + m[i]![1] * v[1]! + m[i]![2] * v[2]!) as [number, number, number];
}

function invert(m: Matrix): Matrix {
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  const det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  return [
    [(e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det],
    [(f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det],
    [(d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det],
  ];
}

/** Linear RGB → XYZ for a set of primaries and white point (the textbook derivation). */
function rgbToXyz(space: { red: Xy; green: Xy; blue: Xy; white: Xy }): Matrix {
  const [r, g, b] = [xyToXyz(space.red), xyToXyz(space.green), xyToXyz(space.blue)];
  const primaries: Matrix = [[r[0], g[0], b[0]], [r[1], g[1], b[1]], [r[2], g[2], b[2]]];
  const s = apply(invert(primaries), xyToXyz(space.white));
  return [0, 1, 2].map((i) => [primaries[i]![0] * s[0], primaries[i]![1] * s[1], primaries[i]![2] * s[2]]) as unknown as Matrix;
}

/** Bradford chromatic adaptation from `from` white (XYZ) to `to` white (XYZ). */
function bradford(from: readonly number[], to: readonly number[]): Matrix {
  const ma: Matrix = [[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]];
  const [s, d] = [apply(ma, from), apply(ma, to)];
  const scale: Matrix = [[d[0] / s[0], 0, 0], [0, d[1] / s[1], 0], [0, 0, d[2] / s[2]]];
  return multiply(invert(ma), multiply(scale, ma));
}

function srgbToLinear(value8: number): number {
  const c = value8 / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

/** An sRGB colour in Adobe RGB (1998), 0-1 per channel, by the published math (no ICC engine). */
export function srgbToAdobeRgb(colour: Rgb): [number, number, number] {
  const xyz = apply(rgbToXyz(SRGB), colour.map(srgbToLinear));
  const linear = apply(invert(rgbToXyz(ADOBE_RGB)), xyz);
  return linear.map((c) => Math.max(0, Math.min(1, c)) ** (1 / ADOBE_RGB.gamma)) as [number, number, number];
}

function s15Fixed16(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeInt32BE(Math.round(value * 65536));
  return out;
}

function xyzTag(xyz: readonly number[]): Buffer {
  return Buffer.concat([Buffer.from('XYZ \0\0\0\0', 'latin1'), ...xyz.map(s15Fixed16)]);
}

function textDescriptionTag(text: string): Buffer {
  const ascii = Buffer.from(text + '\0', 'latin1');
  const head = Buffer.alloc(12);
  head.write('desc', 0, 'latin1');
  head.writeUInt32BE(ascii.length, 8);
  // Unicode language + count (0), ScriptCode code + count (0) and its 67-byte field: all empty.
  return Buffer.concat([head, ascii, Buffer.alloc(4 + 4 + 2 + 1 + 67)]);
}

function textTag(text: string): Buffer {
  return Buffer.concat([Buffer.from('text\0\0\0\0', 'latin1'), Buffer.from(text + '\0', 'latin1')]);
}

function gammaCurveTag(gamma: number): Buffer {
  const tag = Buffer.alloc(14);
  tag.write('curv', 0, 'latin1');
  tag.writeUInt32BE(1, 8); // one entry: a pure gamma in u8Fixed8
  tag.writeUInt16BE(Math.round(gamma * 256), 12);
  return tag;
}

/**
 * An ICC v2 display profile for Adobe RGB (1998): matrix/TRC, colorants adapted to the D50 PCS
 * with Bradford (as the ICC spec asks), media white D65, gamma 563/256 on every channel.
 * No profile ships with sharp for it, and real photos from cameras and Lightroom carry one.
 */
export function adobeRgbIccProfile(): Buffer {
  const toPcs = multiply(bradford(xyToXyz(D65), D50_XYZ), rgbToXyz(ADOBE_RGB));
  const column = (j: number) => [toPcs[0][j]!, toPcs[1][j]!, toPcs[2][j]!];
  const trc = gammaCurveTag(ADOBE_RGB.gamma);
  const tags: [string, Buffer][] = [
    ['desc', textDescriptionTag('Adobe RGB (1998) (avatar-import test)')],
    ['cprt', textTag('No copyright, generated from published primaries')],
    ['wtpt', xyzTag(xyToXyz(D65))],
    ['rXYZ', xyzTag(column(0))],
    ['gXYZ', xyzTag(column(1))],
    ['bXYZ', xyzTag(column(2))],
    ['rTRC', trc],
    ['gTRC', trc],
    ['bTRC', trc],
  ];
  const tableSize = 4 + tags.length * 12;
  const table = Buffer.alloc(tableSize);
  table.writeUInt32BE(tags.length, 0);
  const data: Buffer[] = [];
  let offset = 128 + tableSize;
  tags.forEach(([signature, tag], index) => {
    table.write(signature, 4 + index * 12, 'latin1');
    table.writeUInt32BE(offset, 8 + index * 12);
    table.writeUInt32BE(tag.length, 12 + index * 12);
    const padded = Buffer.concat([tag, Buffer.alloc((4 - (tag.length % 4)) % 4)]);
    data.push(padded);
    offset += padded.length;
  });
  const header = Buffer.alloc(128);
  header.writeUInt32BE(offset, 0);
  header.writeUInt32BE(0x02100000, 8); // version 2.1
  header.write('mntrRGB XYZ ', 12, 'latin1');
  [2000, 1, 1, 0, 0, 0].forEach((value, i) => header.writeUInt16BE(value, 24 + i * 2)); // fixed date: deterministic
  header.write('acsp', 36, 'latin1');
  D50_XYZ.forEach((value, i) => s15Fixed16(value).copy(header, 68 + i * 4));
  return Buffer.concat([header, table, ...data]);
}

let adobeRgbPath: string | undefined;

/** The Adobe RGB profile on disk (sharp's withIccProfile takes a path), written once per machine. */
export function adobeRgbIccPath(): string {
  if (adobeRgbPath) return adobeRgbPath;
  const profile = adobeRgbIccProfile();
  const hash = createHash('sha256').update(profile).digest('hex').slice(0, 12);
  const path = join(tmpdir(), `avatar-import-AdobeRGB1998-${hash}.icc`);
  if (!existsSync(path)) {
    // Temp file + rename: parallel jest workers may write it at the same moment.
    const temp = `${path}.${process.pid}.tmp`;
    writeFileSync(temp, profile);
    renameSync(temp, path);
  }
  adobeRgbPath = path;
  return path;
}

/** A flat JPEG of an sRGB colour converted into, and tagged with, another colour space. */
export function jpegInSpace(space: 'p3' | 'cmyk' | 'adobe-rgb', colour: Rgb = SKIN, size = 128): Promise<Buffer> {
  const profile = space === 'adobe-rgb' ? adobeRgbIccPath() : space;
  return fromPixels(solidPixels(size, size, colour), size, size).withIccProfile(profile).jpeg({ quality: 95 }).toBuffer();
}

/**
 * A flat 16-bit PNG of an sRGB colour. `adobe-rgb`: the 16-bit values are the colour in Adobe RGB,
 * computed with the published math, and the PNG carries the Adobe RGB profile in iCCP (as a
 * 16-bit Lightroom export does). `srgb`: plain 16-bit sRGB values, no profile.
 */
export async function png16(space: 'srgb' | 'adobe-rgb', colour: Rgb = SKIN, size = 128): Promise<Buffer> {
  const encoded = space === 'srgb' ? colour.map((c) => c / 255) : srgbToAdobeRgb(colour);
  const values = encoded.map((c) => Math.round(c * 65535));
  const pixels = new Uint16Array(size * size * 3);
  for (let i = 0; i < pixels.length; i += 3) pixels.set(values, i);
  const png = await sharp(pixels, { raw: { width: size, height: size, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
  if (space === 'srgb') return png;
  const iccp = Buffer.concat([Buffer.from('Adobe RGB (1998)\0\0', 'latin1'), deflateSync(adobeRgbIccProfile())]);
  return insertPngChunks(png, [pngChunk('iCCP', iccp)]);
}

// ---------------------------------------------------------------------------------------------
// Reading results

/** The colour of one pixel of an image, 8-bit RGB(A), decoded without colour management. */
export async function pixelAt(image: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(image, { ignoreIcc: true }).raw().toBuffer({ resolveWithObject: true });
  const i = (y * info.width + x) * info.channels;
  return [...data.subarray(i, i + info.channels)];
}

/**
 * What a tool that ignores the embedded profile shows: the stored values taken as sRGB (16-bit
 * scaled to 8), and for CMYK the naive 255·(1−C)·(1−K) formula.
 */
export async function pixelWithoutProfile(image: Buffer, x: number, y: number): Promise<number[]> {
  const { space } = await sharp(image).metadata();
  if (space !== 'cmyk') return pixelAt(image, x, y);
  const { data, info } = await sharp(image).pipelineColourspace('cmyk').toColourspace('cmyk').raw().toBuffer({ resolveWithObject: true });
  const i = (y * info.width + x) * info.channels;
  const [c, m, ye, k] = [...data.subarray(i, i + 4)] as [number, number, number, number];
  return [c, m, ye].map((ink) => Math.round(((255 - ink) * (255 - k)) / 255));
}

/**
 * The marker codes of a JPEG's segments, in order, up to the first SOS (0xDA): e.g.
 * [0xD8, 0xE0, 0xDB, 0xC0, 0xC4, 0xDA]. APP1-APP15 (0xE1-0xEF) carry EXIF, XMP, ICC, IPTC;
 * 0xFE is a comment; 0xC0 is a baseline frame, 0xC2 a progressive one.
 */
export function jpegMarkers(jpeg: Buffer): number[] {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error('not a JPEG');
  const markers = [0xd8];
  let offset = 2;
  while (offset + 4 <= jpeg.length && jpeg[offset] === 0xff) {
    const marker = jpeg[offset + 1]!;
    markers.push(marker);
    if (marker === 0xda) break;
    offset += 2 + jpeg.readUInt16BE(offset + 2);
  }
  return markers;
}

/** Largest per-channel difference between two colours. */
export function colourDistance(a: readonly number[], b: readonly number[]): number {
  return Math.max(...[0, 1, 2].map((i) => Math.abs(a[i]! - b[i]!)));
}
