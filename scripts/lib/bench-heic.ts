// The HEIC half of bench-normalise: 12 MP iPhone-style HEIC photos (made once with Debian's
// heif-enc, a quarter of them taken sideways: irot), through the CLI as users run it. libheif
// decodes in WebAssembly worker threads, one per core; the figure to watch is photos per second
// per core (aim: ≥ 1).
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { heifEnc, withTransforms } from '../../testkit/heic.js';
import { cameraPhoto } from '../../testkit/images.js';
import { benchDir, measureCli } from './bench.js';

export async function benchHeic(count: number): Promise<void> {
  const dir = await benchDir('normalise-heic');
  const photos = join(dir, 'photos');
  await mkdir(photos, { recursive: true });
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `iphone${i}.heic`;
    names.push(name);
    if (existsSync(join(photos, name))) continue;
    const sideways = i % 4 === 0;
    const jpeg = await cameraPhoto({ width: 4032, height: 3024, seed: 100 + i, orientation: sideways ? 6 : 1, quality: 92 });
    const heic = await heifEnc(jpeg, 60);
    await writeFile(join(photos, name), sideways ? withTransforms(heic, { turns: 3 }) : heic);
    process.stderr.write(`generated ${i + 1}/${count} (heif-enc)\n`);
  }
  const csv = join(dir, 'people.csv');
  await writeFile(csv, 'user_id,photo\n' + names.map((n, i) => `user${i},photos/${n}`).join('\n') + '\n');
  const cores = availableParallelism();
  const runs: { seconds: number; cpuSeconds: number }[] = [];
  for (let attempt = 0; attempt < 2; attempt++) {
    await rm(join(dir, 'out'), { recursive: true, force: true });
    await rm(join(dir, 'people.ledger.jsonl'), { force: true });
    const result = await measureCli([csv, '--out', join(dir, 'out'), '--jobs', String(cores), '--progress', 'off', '--quiet']);
    if (result.code !== 0) throw new Error(`avatar-import failed:\n${result.stdout}\n${result.stderr}`);
    runs.push({ seconds: result.seconds, cpuSeconds: result.cpuSeconds });
    process.stderr.write(`avatar-import on ${count} HEIC, --jobs ${cores}: ${result.seconds.toFixed(1)} s wall, ${result.cpuSeconds.toFixed(1)} s CPU, peak RSS ${result.peakRssMiB.toFixed(0)} MiB\n`);
  }
  const best = runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  const rate = count / best.seconds;
  console.log(`\nbench-normalise heic: ${count} photos (12 MP HEIC from heif-enc, a quarter with irot) → 512 px square JPEG, ${cores} core(s)`);
  console.log(`avatar-import --target dir (CLI, startup included): ${rate.toFixed(2)} photos/s wall (${best.seconds.toFixed(1)} s), ${(rate / cores).toFixed(2)} photos/s per core`);
  // Per CPU-second: what one core does when it is the photo's alone, whatever else the machine runs.
  console.log(`per CPU-second (all threads): ${(count / best.cpuSeconds).toFixed(2)} photos (${best.cpuSeconds.toFixed(1)} s CPU; aim ≥ 1 photo/s per core)`);
}
