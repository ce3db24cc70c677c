// The fault soak at full size (issue 11):
//   npm run soak:faults [-- rows rate seed request-timeout]      (default 2000 rows, 10 %, seed 11, 3 s)
// Each remote target's test server behind a fault-injecting proxy: 5xx, resets before and after
// the server applied the request, 429 storms, cut bodies, answers slower than the timeout, hung
// requests. Prints one line per target; exits 1 unless every row is ok within two runs, the server
// holds what the ledger says, and no stall outlasts twice the request timeout.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { soakFaults } from './lib/soak-faults.js';
import type { TargetName } from './lib/soak-rigs.js';

const rows = Number(process.argv[2] ?? 2000);
const rate = Number(process.argv[3] ?? 0.1);
const seed = Number(process.argv[4] ?? 11);
const requestTimeout = Number(process.argv[5] ?? 3);
const dir = await mkdtemp(join(tmpdir(), 'avatar-import-soak-faults-'));

console.log(`avatar-import soak-faults: ${rows} rows per target, ${(rate * 100).toFixed(0)} % of requests faulted, seed ${seed}, --request-timeout ${requestTimeout} --concurrency 4`);
const started = performance.now();
const targets = (process.env.SOAK_TARGETS?.split(',') ?? ['matrix', 'zulip', 'authgear']) as TargetName[];
const concurrency = 4;
const results = await soakFaults({ targets, rows, rate, seed, requestTimeout, concurrency, dir, log: (line) => console.error(line) });
let ok = true;
for (const r of results) {
  const pass = r.notOk === 0 && r.disagreements === 0 && r.longestStall <= 2 * requestTimeout && r.longestHold <= 2 * requestTimeout;
  ok &&= pass;
  const kinds = Object.entries(r.byKind).map(([k, n]) => `${k} ${n}`).join(', ');
  console.log(
    `${r.target.padEnd(9)} ${r.rows} rows, ${r.requests} requests, ${r.faults} faulted (${kinds}); ` +
      `runs: ${r.runs.map((run) => `exit ${run.code} in ${run.seconds.toFixed(1)} s`).join(', ')}; ` +
      `not ok ${r.notOk}, ledger/server disagreements ${r.disagreements}, longest stall ${r.longestStall.toFixed(1)} s, ` +
      `longest held request ${r.longestHold.toFixed(1)} s (limit ${2 * requestTimeout} s)${r.changedByUser ? `, changed_by_user ${r.changedByUser}` : ''}  ${pass ? 'PASS' : 'FAIL'}`,
  );
  if (!pass) console.log(`  e.g. ${[...r.verdict.lost, ...r.verdict.disagreements].slice(0, 5).join(', ')}\n  ${r.lastStderr.split('\n').slice(-8).join('\n  ')}`);
}
console.log(`wall time ${((performance.now() - started) / 1000).toFixed(0)} s`);
if (process.env.SOAK_KEEP) console.log(`kept ${dir}`);
else await rm(dir, { recursive: true, force: true });
process.exitCode = ok ? 0 : 1;
