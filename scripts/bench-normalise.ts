// Throughput of the normalisation stage on realistic photos, three ways in one run:
//   1. avatar-import --target dir (the CLI, startup included),
//   2. the best bare sharp loop doing the same work (file in, square JPEG out) at its fastest
//      number in flight,
//   3. ImageMagick `convert` through `xargs -P2`, as an admin would script it.
// Targets: ours ≥ 0.9 × the bare loop and ≥ 5 × ImageMagick.
// Usage: npx tsx scripts/bench-normalise.ts [photos]   (default 200)
//        npx tsx scripts/bench-normalise.ts heic [photos]   (12 MP HEIC only, default 12; needs heif-enc)
//        npx tsx scripts/bench-normalise.ts distinct [photos] [rounds]   (default 2 000 photos, 3 rounds;
//        issue 16: the CLI against the bare loop at the CLI's concurrency, goal ≥ 0.98×)
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pLimit from 'p-limit';
import sharp from 'sharp';
import { cameraPhoto, fromPixels, photoPixels } from '../testkit/images.js';
import type { Orientation } from '../testkit/images.js';
import { benchDir, measureCli } from './lib/bench.js';
import { benchHeic } from './lib/bench-heic.js';
import { benchDistinct } from './lib/bench-distinct.js';

if (process.argv[2] === 'heic') {
  await benchHeic(Number(process.argv[3] ?? 12));
  process.exit(0);
}
if (process.argv[2] === 'distinct') {
  await benchDistinct(Number(process.argv[3] ?? 2000), Number(process.argv[4] ?? 3));
  process.exit(0);
}

const run = promisify(execFile);
const count = Number(process.argv[2] ?? 200);
const dir = await benchDir('normalise');
const photos = join(dir, 'photos');
await mkdir(photos, { recursive: true });

// Deterministic inputs, generated once and reused: 12 MP camera JPEGs, a quarter of them
// EXIF-rotated, and every tenth a 6 MP PNG (screenshots and scans come as PNG).
const names: string[] = [];
const orientations: Orientation[] = [6, 8, 3];
for (let i = 0; i < count; i++) {
  const png = i % 10 === 9;
  const name = png ? `photo${i}.png` : `photo${i}.jpg`;
  names.push(name);
  const path = join(photos, name);
  if (existsSync(path)) continue;
  const bytes = png
    ? await fromPixels(photoPixels(3000, 2000, i + 1), 3000, 2000).png({ compressionLevel: 6 }).toBuffer()
    : await cameraPhoto({ width: 4000, height: 3000, seed: i + 1, orientation: i % 4 === 0 ? orientations[i % 3]! : 1 });
  await writeFile(path, bytes);
  if (i % 20 === 0) process.stderr.write(`generated ${i + 1}/${count}\n`);
}
const csv = join(dir, 'people.csv');
await writeFile(csv, 'user_id,photo\n' + names.map((n, i) => `user${i},photos/${n}`).join('\n') + '\n');

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

// 1. Ours, through the CLI as users run it.
const ours: number[] = [];
let oursCpu = NaN;
for (const jobs of [4]) {
  await rm(join(dir, 'out-ours'), { recursive: true, force: true });
  await rm(join(dir, 'people.ledger.jsonl'), { force: true });
  const result = await measureCli([csv, '--out', join(dir, 'out-ours'), '--jobs', String(jobs), '--progress', 'off', '--quiet']);
  if (result.code !== 0) throw new Error(`avatar-import failed:\n${result.stdout}\n${result.stderr}`);
  ours.push(result.seconds);
  oursCpu = result.cpuSeconds;
  process.stderr.write(`avatar-import --jobs ${jobs}: ${result.seconds.toFixed(1)} s\n`);
}

// 2. The bare sharp loop at 2, 4 and 8 in flight; the best counts.
const bare: { inFlight: number; seconds: number; cpu: number }[] = [];
for (const inFlight of [2, 4, 8]) {
  const out = join(dir, 'out-bare');
  await rm(out, { recursive: true, force: true });
  await mkdir(out);
  const limit = pLimit(inFlight);
  const cpuBefore = process.cpuUsage();
  const seconds = await timed(() =>
    Promise.all(names.map((name, i) => limit(() =>
      sharp(join(photos, name)).rotate().resize(512, 512, { fit: 'cover' }).jpeg({ quality: 85 }).toFile(join(out, `user${i}.jpg`))))));
  const used = process.cpuUsage(cpuBefore);
  bare.push({ inFlight, seconds, cpu: (used.user + used.system) / 1e6 });
  process.stderr.write(`bare sharp loop, ${inFlight} in flight: ${seconds.toFixed(1)} s\n`);
}

// 3. ImageMagick, if installed (Debian's imagemagick; .ci/run installs it).
let magick: number | undefined;
try {
  const { stdout } = await run('convert', ['-version']);
  if (!/ImageMagick/.test(stdout)) throw new Error('not ImageMagick');
  const out = join(dir, 'out-magick');
  await rm(out, { recursive: true, force: true });
  await mkdir(out);
  const script = `cd ${JSON.stringify(photos)} && ls | xargs -P2 -I{} convert {} -auto-orient -resize 512x512^ -gravity center -extent 512x512 -strip -quality 85 ${JSON.stringify(out)}/{}.jpg`;
  magick = await timed(() => run('bash', ['-c', script], { maxBuffer: 1 << 24 }));
  process.stderr.write(`ImageMagick convert, xargs -P2: ${magick.toFixed(1)} s\n`);
} catch (error) {
  process.stderr.write(`ImageMagick not measured: ${(error as Error).message.split('\n')[0]}\n`);
}

const best = bare.reduce((a, b) => (b.seconds < a.seconds ? b : a));
const oursSeconds = Math.min(...ours);
const rate = (seconds: number) => count / seconds;
console.log(`\nbench-normalise: ${count} photos (12 MP JPEG, some EXIF-rotated; every tenth a 6 MP PNG) → 512 px square JPEG, ${sharp.concurrency()} libvips thread(s) per image`);
console.log(`avatar-import --target dir (CLI, startup included): ${rate(oursSeconds).toFixed(1)} photos/s (${oursSeconds.toFixed(1)} s, ${oursCpu.toFixed(1)} s CPU)`);
console.log(`bare sharp loop, best at ${best.inFlight} in flight:    ${rate(best.seconds).toFixed(1)} photos/s (${best.seconds.toFixed(1)} s, ${best.cpu.toFixed(1)} s CPU)`);
const same = bare.find((b) => b.inFlight === 4)!;
console.log(`bare sharp loop at the CLI's 4 in flight:  ${rate(same.seconds).toFixed(1)} photos/s (${same.seconds.toFixed(1)} s, ${same.cpu.toFixed(1)} s CPU)`);
if (magick !== undefined) console.log(`ImageMagick convert via xargs -P2:                ${rate(magick).toFixed(1)} photos/s (${magick.toFixed(1)} s)`);
console.log(`ratio ours / bare sharp: ${(best.seconds / oursSeconds).toFixed(2)} (target ≥ 0.9; issue 16: ≥ 0.95); by CPU ${(best.cpu / oursCpu).toFixed(2)}`);
if (magick !== undefined) console.log(`ratio ours / ImageMagick: ${(magick / oursSeconds).toFixed(1)} (target ≥ 5)`);
