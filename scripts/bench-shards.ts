// Sharding adds no overhead beyond the machine's cores: the same photos through 1, 2 and 4 shards
// started side by side on this machine (as GNU parallel would), with --jobs split so that every
// layout uses the same number of decoders in all. Prints each layout's wall time and throughput.
// Usage: npx tsx scripts/bench-shards.ts [photos] [edge]   (default 400 photos of 4000 px, 12 MP)
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cameraPhoto } from '../testkit/images.js';
import { BIN, benchDir } from './lib/bench.js';

const count = Number(process.argv[2] ?? 400);
const width = Number(process.argv[3] ?? 4000);
const height = Math.round((width * 3) / 4);
const TOTAL_JOBS = 4;
const dir = await benchDir(`shards-${count}-${width}`);
await mkdir(join(dir, 'photos'), { recursive: true });
const lines = ['user_id,photo'];
for (let i = 0; i < count; i++) {
  const name = `p${i}.jpg`;
  const path = join(dir, 'photos', name);
  if (!existsSync(path)) await writeFile(path, await cameraPhoto({ width, height, seed: i + 1, orientation: 1 }));
  if (i % 50 === 0) process.stderr.write(`photos ${i + 1}/${count}\n`);
  lines.push(`user${i},photos/${name}`);
}
const csv = join(dir, 'people.csv');
await writeFile(csv, lines.join('\n') + '\n');

async function layout(shards: number): Promise<number> {
  const out = join(dir, `out-${shards}`);
  await rm(out, { recursive: true, force: true });
  const jobs = Math.max(1, TOTAL_JOBS / shards);
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: shards }, async (_, k) => {
    const args = [BIN, csv, '--target', 'dir', '--out', out, '--ledger', join(out, 'ledger.jsonl'), '--jobs', String(jobs), '--progress', 'off', '--quiet'];
    if (shards > 1) args.push('--shard', `${k + 1}/${shards}`);
    await mkdir(out, { recursive: true });
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, NODE_OPTIONS: '' } });
    const [code] = (await once(child, 'close')) as [number | null];
    if (code !== 0) throw new Error(`shard ${k + 1}/${shards} exited ${code}`);
  }));
  return Number(process.hrtime.bigint() - started) / 1e9;
}

console.log(`bench-shards: ${count} photos of ${width}×${height}, ${TOTAL_JOBS} decoders in all, side by side on this machine`);
const base = await layout(1);
console.log(`  1 shard  (--jobs ${TOTAL_JOBS}): ${base.toFixed(1)} s, ${(count / base).toFixed(1)} photos/s`);
for (const shards of [2, 4]) {
  const seconds = await layout(shards);
  console.log(`  ${shards} shards (--jobs ${TOTAL_JOBS / shards} each): ${seconds.toFixed(1)} s, ${(count / seconds).toFixed(1)} photos/s (${((base / seconds) * 100).toFixed(0)} % of one shard's throughput)`);
}
