import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';

// Small, distinct, deterministic photos for end-to-end tests: each a gradient in its own colour,
// big enough to pass --min-size and small enough to keep the tests fast.

export async function photo(seed: number, width = 400, height = 300): Promise<Buffer> {
  const channels = 3;
  const pixels = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * channels;
      pixels[i] = (x * 255) / width + seed * 37;
      pixels[i + 1] = (y * 255) / height + seed * 91;
      pixels[i + 2] = (seed * 53) & 0xff;
    }
  }
  return sharp(pixels, { raw: { width, height, channels } }).jpeg({ quality: 90 }).toBuffer();
}

export interface Person {
  id: string;
  image: string;
  /** Photo seed; undefined: write no file (a missing photo). */
  seed?: number;
  /** Raw bytes to write instead of a photo. */
  bytes?: Buffer;
}

/** Writes photos into dir/photos and a people.csv next to them; returns the CSV path. */
export async function writePeople(dir: string, people: Person[], header = 'user_id,name,photo'): Promise<string> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(join(dir, 'photos'), { recursive: true });
  const lines = [header];
  for (const person of people) {
    if (person.bytes) await writeFile(join(dir, person.image), person.bytes);
    else if (person.seed !== undefined) await writeFile(join(dir, person.image), await photo(person.seed));
    lines.push(`${person.id},"Person ${person.id}",${person.image}`);
  }
  const csv = join(dir, 'people.csv');
  await writeFile(csv, lines.join('\n') + '\n');
  return csv;
}
