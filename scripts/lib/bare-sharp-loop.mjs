// The bare sharp loop bench-normalise compares the CLI with, as a user would script it: a process
// of its own (so it pays a start-up too), sharp's defaults, `jobs` photos in flight, file in and
// square JPEG out. Usage: node bare-sharp-loop.mjs PHOTOS_DIR OUT_DIR JOBS NAME...
import sharp from 'sharp';

const [photos, out, jobs, ...names] = process.argv.slice(2);
let next = 0;
async function worker() {
  while (next < names.length) {
    const i = next++;
    await sharp(`${photos}/${names[i]}`).rotate().resize(512, 512, { fit: 'cover' }).jpeg({ quality: 85 }).toFile(`${out}/user${i}.jpg`);
  }
}
await Promise.all(Array.from({ length: Number(jobs) }, worker));
