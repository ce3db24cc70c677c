// A nightly directory sync where nothing changed: N rows already done, run again, night after night.
// Prints the wall time and the bytes of image read (target: 0), plus the first run for scale, and
// the ledger's size after every night: nightly skips must not grow it without bound (the ledger
// compacts itself on close once its row lines pass twice the live ones).
// Usage: npx tsx scripts/bench-nightly.ts [rows] [nights]   (default 100000 rows, 1 night)
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { benchDir, measureCli, smallPhotos, summaryLine, writeCsv } from './lib/bench.js';

const rows = Number(process.argv[2] ?? 100_000);
const nights = Number(process.argv[3] ?? 1);
const dir = await benchDir(`nightly-${rows}`);
const ledger = join(dir, 'people.ledger.jsonl');
await rm(join(dir, 'avatars'), { recursive: true, force: true });
await rm(ledger, { force: true });
await smallPhotos(dir, 10);
const csv = join(dir, 'people.csv');
await writeCsv(csv, rows, 10);
const args = [csv, '--out', join(dir, 'avatars'), '--ledger', ledger, '--progress', 'off'];
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

const first = await measureCli(args);
if (first.code !== 0) throw new Error(`first run failed:\n${first.stdout}\n${first.stderr}`);
const firstSize = (await stat(ledger)).size;
let again = first;
const sizes: number[] = [];
for (let night = 1; night <= nights; night++) {
  again = await measureCli(args);
  if (again.code !== 0) throw new Error(`re-run ${night} failed:\n${again.stdout}\n${again.stderr}`);
  sizes.push((await stat(ledger)).size);
  if (nights > 1) console.log(`night ${String(night).padStart(2)}: ledger ${mib(sizes.at(-1)!)}  ${again.seconds.toFixed(1)} s`);
}
const read = /images read: (\d+) \(([^)]*)\)/.exec(again.stdout);

console.log(`\nbench-nightly: ${rows} rows, ${nights} night${nights === 1 ? '' : 's'} after the first run`);
console.log(`first run:  ${first.seconds.toFixed(1)} s  peak ${first.peakRssMiB.toFixed(0)} MiB  — ${summaryLine(first.stdout)}`);
console.log(`re-run:     ${again.seconds.toFixed(1)} s  peak ${again.peakRssMiB.toFixed(0)} MiB  — ${summaryLine(again.stdout)}`);
console.log(`image files read by the last re-run: ${read?.[1] ?? '?'} (${read?.[2] ?? '?'})  (target: 0)`);
console.log(`ledger: ${mib(firstSize)} after the first run; after ${nights} night${nights === 1 ? '' : 's'} ${mib(sizes.at(-1)!)}, largest ${mib(Math.max(...sizes))} ` +
  `(${(Math.max(...sizes) / firstSize).toFixed(2)}× the first run; without compaction it would be ${mib(firstSize * (nights + 1))})`);
