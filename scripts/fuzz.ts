// The fuzz run at full size (issue 11):
//   npm run fuzz [-- cases seed]      (default 10 000 cases, seed 11)
// Mutated CSVs and mutated images through the whole tool (dir target); prints the cases, exit
// codes seen, and the figures that must be zero: crashes, hangs, other exit codes, rows not
// accounted for exactly once. Exits 1 when one is not zero.
import { fuzz } from './lib/fuzz.js';

const runs = Number(process.argv[2] ?? 10_000);
const seed = Number(process.argv[3] ?? 11);
console.log(`avatar-import fuzz: ${runs} cases, seed ${seed}`);
const started = performance.now();
const t = await fuzz({ runs, seed, log: (line) => console.error(line) });
console.log(
  `${t.cases} cases (${t.csvCases} mutated CSVs, ${t.imageCases} mutated images); exits ${Object.entries(t.byExit).map(([k, v]) => `${k}: ${v}`).join(', ')}; ` +
    `crashes ${t.crashes}, hangs ${t.hangs}, other exit codes ${t.badExits}, rows not accounted for exactly once ${t.accountingErrors}`,
);
for (const f of t.failures) console.log(`  ${f.kind}: ${JSON.stringify(f.csv)}\n    ${f.detail.split('\n').slice(0, 6).join('\n    ')}`);
console.log(`wall time ${((performance.now() - started) / 1000).toFixed(0)} s`);
process.exitCode = t.crashes + t.hangs + t.badExits + t.accountingErrors === 0 ? 0 : 1;
