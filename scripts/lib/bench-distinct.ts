// The "2 000 distinct photos" half of bench-normalise (issue 16): many ordinary photos, where the
// CLI's per-row work (hashing the source, the ledger line, the stats) is paid 2 000 times and must
// vanish against decoding. Compared with the best bare sharp loop a user could script, doing the
// same resize on the same files at the CLI's concurrency (--jobs, default 4) in a process of its
// own, so both pay a start-up. Interleaved rounds, medians; CPU time (user + sys) beside wall,
// because the machine is shared.
//
// The photos are distinct in content, not hard links (the run's dedupe would skip those): 16 base
// pictures (2 MP, photoPixels), each copy with a seeded 24×24 block of its own colour at a seeded
// place, JPEG-encoded by sharp; a quarter carry EXIF orientation 6. Generated once per (count,
// seed) under the benchmark folder and reused.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fromPixels, photoPixels, prng } from '../../testkit/images.js';
import { benchDir, measureCli, ROOT } from './bench.js';

const SEED = 16;
const WIDTH = 1600;
const HEIGHT = 1200;
const BASES = 16;
const BLOCK = 24;
const JOBS = 4;

export async function benchDistinct(count: number, rounds: number): Promise<void> {
  const dir = await benchDir(`normalise-distinct-${count}-seed${SEED}`);
  const photos = join(dir, 'photos');
  await mkdir(photos, { recursive: true });
  const names = Array.from({ length: count }, (_, i) => `photo${i}.jpg`);
  const bases: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const path = join(photos, names[i]!);
    if (existsSync(path)) continue;
    const base = (bases[i % BASES] ??= photoPixels(WIDTH, HEIGHT, SEED * 1000 + (i % BASES)));
    const pixels = Buffer.from(base);
    const random = prng(SEED * 1_000_003 + i);
    const x0 = Math.floor(random() * (WIDTH - BLOCK));
    const y0 = Math.floor(random() * (HEIGHT - BLOCK));
    const colour = [Math.floor(random() * 256), Math.floor(random() * 256), Math.floor(random() * 256)];
    for (let y = y0; y < y0 + BLOCK; y++) for (let x = x0; x < x0 + BLOCK; x++) pixels.set(colour, (y * WIDTH + x) * 3);
    const image = fromPixels(pixels, WIDTH, HEIGHT);
    await writeFile(path, await (i % 4 === 0 ? image.withMetadata({ orientation: 6 }) : image).jpeg({ quality: 90 }).toBuffer());
    if (i % 200 === 0) process.stderr.write(`generated ${i + 1}/${count}\n`);
  }
  const hashes = new Set<string>();
  for (const name of names) hashes.add(createHash('sha256').update(await readFile(join(photos, name))).digest('hex'));
  if (hashes.size !== count) throw new Error(`expected ${count} distinct photos, found ${hashes.size}`);

  const csv = join(dir, 'people.csv');
  await writeFile(csv, 'user_id,photo\n' + names.map((n, i) => `user${i},photos/${n}`).join('\n') + '\n');
  const loop = join(ROOT, 'scripts/lib/bare-sharp-loop.mjs');

  const ours: { wall: number; cpu: number }[] = [];
  const bare: { wall: number; cpu: number }[] = [];
  // Every round writes into folders of its own, and they are all removed at the end, not just
  // before the next run: files created within ~30 s of thousands deleted cost the kernel a scan
  // of the deleted inodes each (ext4 without a journal, as on the machine these figures come
  // from: ~0.25 ms a file, up to a second a round), which hit whichever side ran after a removal
  // and blurred the ratio by up to ±10 % a round.
  const outputs = join(dir, 'outputs');
  if (existsSync(outputs)) {
    // Left by an interrupted run of this bench: removed, and the deletions given time to age.
    await rm(outputs, { recursive: true, force: true });
    await new Promise((resolve) => setTimeout(resolve, 31_000));
  }
  for (let round = 0; round < rounds; round++) {
    const out = join(outputs, `ours-${round}`);
    const result = await measureCli([csv, '--out', out, '--ledger', join(dir, 'people.ledger.jsonl'), '--jobs', String(JOBS), '--progress', 'off', '--quiet']);
    await rm(join(dir, 'people.ledger.jsonl'), { force: true });
    if (result.code !== 0) throw new Error(`avatar-import failed:\n${result.stdout}\n${result.stderr}`);
    ours.push({ wall: result.seconds, cpu: result.cpuSeconds });

    const bareOut = join(outputs, `bare-${round}`);
    await mkdir(bareOut, { recursive: true });
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, ['--import', join(ROOT, 'scripts/lib/peak-rss.mjs'), loop, photos, bareOut, String(JOBS), ...names], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const [code] = (await once(child, 'close')) as [number | null];
    if (code !== 0) throw new Error(`bare loop failed:\n${stderr}`);
    const cpu = /cpu-ms (\d+)/.exec(stderr);
    bare.push({ wall: Number(process.hrtime.bigint() - started) / 1e9, cpu: cpu ? Number(cpu[1]) / 1000 : NaN });
    process.stderr.write(`round ${round + 1}: avatar-import ${ours.at(-1)!.wall.toFixed(2)} s (cpu ${ours.at(-1)!.cpu.toFixed(2)} s), bare loop ${bare.at(-1)!.wall.toFixed(2)} s (cpu ${bare.at(-1)!.cpu.toFixed(2)} s)\n`);
  }
  await rm(outputs, { recursive: true, force: true });
  const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const oursWall = median(ours.map((r) => r.wall));
  const oursCpu = median(ours.map((r) => r.cpu));
  const bareWall = median(bare.map((r) => r.wall));
  const bareCpu = median(bare.map((r) => r.cpu));
  console.log(`\nbench-normalise distinct: ${count} distinct ${WIDTH}×${HEIGHT} JPEGs (a quarter EXIF-rotated) → 512 px square JPEG, ${JOBS} in flight, median of ${rounds} interleaved rounds`);
  console.log(`avatar-import --target dir --jobs ${JOBS} (CLI, startup included): ${(count / oursWall).toFixed(1)} photos/s (${oursWall.toFixed(2)} s wall, ${oursCpu.toFixed(2)} s CPU)`);
  console.log(`bare sharp loop, own process, ${JOBS} in flight:              ${(count / bareWall).toFixed(1)} photos/s (${bareWall.toFixed(2)} s wall, ${bareCpu.toFixed(2)} s CPU)`);
  console.log(`ratio ours / bare sharp: ${(bareWall / oursWall).toFixed(3)} by wall, ${(bareCpu / oursCpu).toFixed(3)} by CPU (goal ≥ 0.98)`);
  // Each round's two runs are minutes apart at most, so their ratio is less blurred by the
  // neighbours' load changing between rounds than a ratio of medians taken across rounds.
  const pairs = ours.map((o, i) => bare[i]!.cpu / o.cpu);
  console.log(`ratio by CPU per round: ${pairs.map((r) => r.toFixed(3)).join(', ')}; median ${median(pairs).toFixed(3)}`);
}
