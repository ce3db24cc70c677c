// Fitting an avatar under the byte cap: which (edge, quality) to try, in which order, and how the
// work is shared between attempts. The policy lives here; the sharp mechanics are passed in, so
// the order of attempts and the "decode once" promise are testable without images.

import { RowError } from '../errors.js';

/** Quality goes down in these steps first, and not below the floor (unless it started lower). */
export const QUALITY_STEP = 10;
export const QUALITY_FLOOR = 35;
/** Then the edge shrinks by this factor per step, at the floor quality, down to minSize. */
export const EDGE_FACTOR = 0.85;

export interface Encoder<Pixels> {
  /** Encode straight from the source at the start edge: the common case, one sharp pass. */
  encodeSource(quality: number): Promise<Buffer>;
  /** Decode and resize the source to pixels at the start edge. Called at most once. */
  decode(): Promise<Pixels>;
  /** Encode those pixels, resized down to `edge` when it is below the start edge. */
  encodePixels(pixels: Pixels, edge: number, quality: number): Promise<Buffer>;
}

export interface Fitted {
  readonly jpeg: Buffer;
  readonly edge: number;
  readonly quality: number;
}

/** 85 → 75, 65, 55, 45, 35; a start of 90 ends 40, 35; a start at or below the floor is alone. */
export function qualitySteps(start: number): number[] {
  const steps = [start];
  for (let quality = start - QUALITY_STEP; quality > QUALITY_FLOOR; quality -= QUALITY_STEP) steps.push(quality);
  if (start > QUALITY_FLOOR) steps.push(QUALITY_FLOOR);
  return steps;
}

/** The smaller edges to try after `edge`: ×0.85 each, the last one exactly minSize. */
export function edgeSteps(edge: number, minSize: number): number[] {
  const steps: number[] = [];
  for (let current = edge; current > minSize; ) {
    current = Math.max(minSize, Math.floor(current * EDGE_FACTOR));
    steps.push(current);
  }
  return steps;
}

/**
 * The first attempt that fits `maxBytes`, trying the start quality, then lower qualities, then
 * smaller edges. The source is decoded for stepping only when the first attempt is too big, and
 * then exactly once: every later attempt re-encodes those pixels.
 */
export async function fitToBytes<Pixels>(
  encoder: Encoder<Pixels>,
  start: { edge: number; quality: number },
  limits: { maxBytes: number; minSize: number },
): Promise<Fitted> {
  const first = await encoder.encodeSource(start.quality);
  if (first.length <= limits.maxBytes) return { jpeg: first, edge: start.edge, quality: start.quality };

  const pixels = await encoder.decode();
  const qualities = qualitySteps(start.quality);
  const floor = qualities[qualities.length - 1]!;
  const attempts = [
    ...qualities.slice(1).map((quality) => ({ edge: start.edge, quality })),
    ...edgeSteps(start.edge, limits.minSize).map((edge) => ({ edge, quality: floor })),
  ];
  let last = { bytes: first.length, edge: start.edge, quality: start.quality };
  for (const attempt of attempts) {
    const jpeg = await encoder.encodePixels(pixels, attempt.edge, attempt.quality);
    if (jpeg.length <= limits.maxBytes) return { jpeg, ...attempt };
    last = { bytes: jpeg.length, ...attempt };
  }
  throw new RowError(
    'too_large_after_compression',
    `even at ${last.edge} px and quality ${last.quality} the avatar is ${last.bytes} bytes, over --max-bytes ${limits.maxBytes}`,
  );
}
