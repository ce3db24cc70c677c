// What --remove-missing costs a nightly run (issue 13): N users done with `dir`, then tonight's
// export without 1 % of them (under the default cap of 5 %). Measured: the same night without
// the flag (nothing removed), and with it (the export read twice, the ledger twice more, the
// leavers removed). Prints wall time, CPU and peak RSS of each.
// Usage: npx tsx scripts/bench-leavers.ts [rows]   (default 100000)
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { benchDir, measureCli, smallPhotos, summaryLine, writeCsv } from './lib/bench.js';
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { copyFile } from 'node:fs/promises';

const rows = Number(process.argv[2] ?? 100_000);
const dir = await benchDir(`leavers-${rows}`);
const ledger = join(dir, 'people.ledger.jsonl');
await rm(join(dir, 'avatars'), { recursive: true, force: true });
await rm(ledger, { force: true });
await smallPhotos(dir, 10);
const full = join(dir, 'people.csv');
await writeCsv(full, rows, 10);
// Tonight's export: every hundredth person has left.
const tonight = join(dir, 'tonight.csv');
const out = createWriteStream(tonight);
let n = -1;
for await (const line of createInterface({ input: createReadStream(full) })) {
  if (n++ >= 0 && n % 100 === 0) continue;
  if (!out.write(line + '\n')) await once(out, 'drain');
}
out.end();
await once(out, 'finish');

const args = (csv: string, ...more: string[]) => [csv, '--out', join(dir, 'avatars'), '--ledger', ledger, '--progress', 'off', ...more];
const first = await measureCli(args(full));
if (first.code !== 0) throw new Error(`first run failed:\n${first.stdout}\n${first.stderr}`);
await copyFile(ledger, `${ledger}.after-first`);

const without = await measureCli(args(tonight));
if (without.code !== 0) throw new Error(`run without the flag failed:\n${without.stdout}\n${without.stderr}`);
// The same night again from the same ledger, now with the leavers.
await copyFile(`${ledger}.after-first`, ledger);
const withFlag = await measureCli(args(tonight, '--remove-missing'));
if (withFlag.code !== 0) throw new Error(`run with --remove-missing failed:\n${withFlag.stdout}\n${withFlag.stderr}`);

const show = (name: string, m: typeof first): string =>
  `${name.padEnd(22)} ${m.seconds.toFixed(1).padStart(6)} s wall  ${m.cpuSeconds.toFixed(1).padStart(6)} s CPU  peak ${m.peakRssMiB.toFixed(0)} MiB  — ${summaryLine(m.stdout)}`;
console.log(`\nbench-leavers: ${rows} users done, tonight's export without ${Math.floor(rows / 100)} of them`);
console.log(show('first run', first));
console.log(show('nightly, no flag', without));
console.log(show('--remove-missing', withFlag));
