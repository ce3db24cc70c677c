import sharp from 'sharp';
import { UsageError } from '../errors.js';

/** --background is handed to sharp row after row: find out now, once, whether sharp reads it. */
export async function checkColour(colour: string): Promise<void> {
  try {
    await sharp({ create: { width: 1, height: 1, channels: 3, background: colour } }).raw().toBuffer();
  } catch {
    throw new UsageError(`--background expects a CSS colour such as white, #f0f0f0 or rgb(240,240,240), got "${colour}"`);
  }
}
