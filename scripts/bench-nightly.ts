// A nightly directory sync where nothing changed: 100 000 rows already done, run again.
// Prints the wall time and the bytes of image read (target: 0), plus the first run for scale.
// Usage: npx tsx scripts/bench-nightly.ts [rows]   (default 100000)
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { benchDir, measureCli, smallPhotos, summaryLine, writeCsv } from './lib/bench.js';

const rows = Number(process.argv[2] ?? 100_000);
const dir = await benchDir(`nightly-${rows}`);
await rm(join(dir, 'avatars'), { recursive: true, force: true });
await rm(join(dir, 'people.ledger.jsonl'), { force: true });
await smallPhotos(dir, 10);
const csv = join(dir, 'people.csv');
await writeCsv(csv, rows, 10);
const args = [csv, '--out', join(dir, 'avatars'), '--progress', 'off'];

const first = await measureCli(args);
if (first.code !== 0) throw new Error(`first run failed:\n${first.stdout}\n${first.stderr}`);
const again = await measureCli(args);
if (again.code !== 0) throw new Error(`re-run failed:\n${again.stdout}\n${again.stderr}`);
const read = /images read: (\d+) \(([^)]*)\)/.exec(again.stdout);

console.log(`\nbench-nightly: ${rows} rows`);
console.log(`first run:  ${first.seconds.toFixed(1)} s  peak ${first.peakRssMiB.toFixed(0)} MiB  — ${summaryLine(first.stdout)}`);
console.log(`re-run:     ${again.seconds.toFixed(1)} s  peak ${again.peakRssMiB.toFixed(0)} MiB  — ${summaryLine(again.stdout)}`);
console.log(`image files read by the re-run: ${read?.[1] ?? '?'} (${read?.[2] ?? '?'})  (target: 0)`);
