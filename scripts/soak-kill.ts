// The kill soak at full size (issue 11):
//   npm run soak:kill [-- kills rows seed]      (default 30 kills per target, 600 rows, seed 11)
// Against dir and each remote test server: runs killed with SIGKILL at seeded random moments, then
// a final run. Prints rows lost, rows applied more than once beyond those in flight, ledger/server
// disagreements, stray files and changed_by_user rows (the tool's own write taken for the user's
// after a kill, issue 11's defect 1, fixed by intent lines) per target: all must be 0.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { soakKill } from './lib/soak-kill.js';
import { TARGETS, type TargetName } from './lib/soak-rigs.js';

const kills = Number(process.argv[2] ?? 30);
const rows = Number(process.argv[3] ?? 600);
const seed = Number(process.argv[4] ?? 11);
const targets = (process.env.SOAK_TARGETS?.split(',') ?? TARGETS) as TargetName[];
const dir = await mkdtemp(join(tmpdir(), 'avatar-import-soak-kill-'));

console.log(`avatar-import soak-kill: ${kills} kill -9 per target, ${rows} rows, seed ${seed}`);
const started = performance.now();
const results = await soakKill({ targets, rows, kills, seed, dir, log: (line) => console.error(line) });
let ok = true;
for (const r of results) {
  const pass = r.kills >= kills && r.lost === 0 && r.appliedTwice === 0 && r.disagreements === 0 && r.stray.length === 0 && r.changedByUser === 0 && (r.finalExit === 0);
  ok &&= pass;
  console.log(
    `${r.target.padEnd(9)} ${r.kills} kills (${r.completedRuns} runs finished first), final run exit ${r.finalExit}: ` +
      `lost ${r.lost}, applied twice beyond in flight ${r.appliedTwice} (in flight at kills: ${r.inFlightAtKills}), ` +
      `ledger/server disagreements ${r.disagreements}, stray files ${r.stray.length}; changed_by_user ${r.changedByUser}  ${pass ? 'PASS' : 'FAIL'}`,
  );
  if (!pass) console.log(`  e.g. ${[...r.verdict.lost, ...r.verdict.disagreements, ...r.verdict.changedByUser, ...r.stray].slice(0, 5).join(', ')}`);
}
console.log(`wall time ${((performance.now() - started) / 1000).toFixed(0)} s`);
if (process.env.SOAK_KEEP) console.log(`kept ${dir}`);
else await rm(dir, { recursive: true, force: true });
process.exitCode = ok ? 0 : 1;
