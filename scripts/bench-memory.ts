// Peak RSS of a 1 000 000-row dry run and of a 1 000 000-row re-run whose ledger already holds
// every row, against the same at 100 000 rows. Targets: ≤ 250 MB each, and 1 M ≤ 1.3 × 100 k.
// Usage: npx tsx scripts/bench-memory.ts [rows…]   (default: 100000 1000000)
//        npx tsx scripts/bench-memory.ts xlsx [rows…]   (CSV vs .xlsx dry runs, default: 100000)
import { createWriteStream } from 'node:fs';
import { copyFile, link, mkdir, readFile, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { benchDir, measureCli, smallPhotos, summaryLine, writeCsv } from './lib/bench.js';
import { benchXlsx } from './lib/bench-xlsx.js';

if (process.argv[2] === 'xlsx') {
  const counts = process.argv.slice(3).map(Number).filter((n) => n > 0);
  await benchXlsx(counts.length > 0 ? counts : [100_000]);
  process.exit(0);
}

const PHOTOS = 10;
const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const rowsList = sizes.length > 0 ? sizes : [100_000, 1_000_000];

interface Result { rows: number; dryMiB: number; drySeconds: number; rerunMiB: number; rerunSeconds: number }

async function seedLedger(dir: string): Promise<{ run: string; rows: Record<string, unknown>[] }> {
  // A real run over one row per photo gives real ledger lines and real avatars to clone.
  const seedCsv = join(dir, 'seed.csv');
  await writeCsv(seedCsv, PHOTOS, PHOTOS);
  // The ledger named: by default it now lives in the output's state folder (.avatar-import/).
  const result = await measureCli([seedCsv, '--out', join(dir, 'seed-avatars'), '--ledger', join(dir, 'seed.ledger.jsonl'), '--progress', 'off']);
  if (result.code !== 0) throw new Error(`seed run failed: ${result.stderr}`);
  const lines = (await readFile(join(dir, 'seed.ledger.jsonl'), 'utf8')).trim().split('\n');
  return { run: lines[0]!, rows: lines.slice(1).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** A copy of a seed avatar with the same size and mtime (within the 1 ms window). */
const copies = new Map<string, string>();
async function copyOf(file: string, n: number): Promise<string> {
  const path = `${file}.copy${n}`;
  if (!copies.has(path)) {
    await copyFile(file, path);
    const info = await stat(file);
    await utimes(path, info.atime, info.mtime);
    copies.set(path, path);
  }
  return path;
}

async function synthesise(dir: string, rows: number, seed: { run: string; rows: Record<string, unknown>[] }): Promise<void> {
  const avatars = join(dir, 'avatars');
  await rm(avatars, { recursive: true, force: true });
  await mkdir(avatars, { recursive: true });
  const target = `dir:${avatars}`;
  const out = createWriteStream(join(dir, 'people.ledger.jsonl'));
  out.write(seed.run.replace(/"target":"[^"]*"/, `"target":${JSON.stringify(target)}`) + '\n');
  const byPhoto = new Map(seed.rows.map((row) => [String(row['source']).replace(/.*\//, ''), row]));
  const pending: Promise<void>[] = [];
  for (let i = 0; i < rows; i++) {
    const template = byPhoto.get(`p${i % PHOTOS}.jpg`)!;
    const line = { ...template, row: i + 1, line: i + 2, user: `user${i}`, target };
    if (!out.write(JSON.stringify(line) + '\n')) await once(out, 'drain');
    // The outputs the ledger speaks of: hard links share size and mtime with the seed avatar.
    // ext4 allows 65 000 links to one file, so every 60 000 users get a fresh copy to link to.
    const seedFile = join(dir, 'seed-avatars', `${String(template['user'])}.jpg`);
    const copy = Math.floor(i / (PHOTOS * 60_000));
    pending.push(link(copy === 0 ? seedFile : await copyOf(seedFile, copy), join(avatars, `user${i}.jpg`)));
    if (pending.length >= 256) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  out.end();
  await once(out, 'finish');
}

const results: Result[] = [];
for (const rows of rowsList) {
  const dir = await benchDir(`memory-${rows}`);
  await rm(join(dir, 'people.ledger.jsonl'), { force: true });
  await rm(join(dir, 'seed.ledger.jsonl'), { force: true });
  await rm(join(dir, 'seed-avatars'), { recursive: true, force: true });
  await smallPhotos(dir, PHOTOS);
  const csv = join(dir, 'people.csv');
  await writeCsv(csv, rows, PHOTOS);

  const dry = await measureCli([csv, '--out', join(dir, 'dry-avatars'), '--dry-run', '--progress', 'off']);
  process.stderr.write(`${rows} rows, dry run: ${summaryLine(dry.stdout)}\n`);

  await synthesise(dir, rows, await seedLedger(dir));
  const rerun = await measureCli([csv, '--out', join(dir, 'avatars'), '--ledger', join(dir, 'people.ledger.jsonl'), '--progress', 'off']);
  process.stderr.write(`${rows} rows, re-run: ${summaryLine(rerun.stdout)}\n`);
  if (!new RegExp(`0 ok, ${rows} skipped, 0 failed`).test(rerun.stdout)) throw new Error(`re-run did not skip every row:\n${rerun.stdout}\n${rerun.stderr}`);
  results.push({ rows, dryMiB: dry.peakRssMiB, drySeconds: dry.seconds, rerunMiB: rerun.peakRssMiB, rerunSeconds: rerun.seconds });
}

console.log('\nbench-memory: peak RSS of the CLI process (target ≤ 250 MB; 1 M ≤ 1.3 × 100 k)');
console.log('rows       dry run (peak, wall)      re-run, all skipped (peak, wall)');
for (const r of results) {
  console.log(`${String(r.rows).padEnd(10)} ${r.dryMiB.toFixed(0).padStart(5)} MiB ${r.drySeconds.toFixed(1).padStart(7)} s      ${r.rerunMiB.toFixed(0).padStart(5)} MiB ${r.rerunSeconds.toFixed(1).padStart(7)} s`);
}
if (results.length >= 2) {
  const [small, large] = [results[0]!, results[results.length - 1]!];
  console.log(`ratio ${large.rows}/${small.rows}: dry run ${(large.dryMiB / small.dryMiB).toFixed(2)}×, re-run ${(large.rerunMiB / small.rerunMiB).toFixed(2)}×`);
}
