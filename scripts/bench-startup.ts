// Start-up cost: how long the CLI takes to handle an empty CSV with the embedded `dir` target,
// against bare `node` and `node` + `import('sharp')` (the floor: every run needs sharp), measured
// side by side, interleaved, so a busy machine slows all three alike.
// Goal (issue 16): CLI ≤ 0.30 s. Usage: npx tsx scripts/bench-startup.ts [rounds]   (default 15)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BIN, ROOT, benchDir } from './lib/bench.js';

const rounds = Number(process.argv[2] ?? 15);
const dir = await benchDir('startup');
const csv = join(dir, 'empty.csv');
await writeFile(csv, 'user_id,photo\n');
const out = join(dir, 'out');
await mkdir(out, { recursive: true });

const cases: Record<string, string[]> = {
  'bare node': ['-e', '0'],
  "node + import('sharp')": ['--input-type=module', '-e', "await import('sharp')"],
  'avatar-import, empty CSV, --target dir': [BIN, csv, '--target', 'dir', '--out', out, '--ledger', join(dir, 'ledger.jsonl'), '--quiet', '--progress', 'off'],
  'avatar-import --help': [BIN, '--help'],
};

// CPU time (user + sys, from GNU time when present) besides wall time: on a machine shared with
// other work the wall clock mostly measures the neighbours, CPU time much less so.
const gnuTime = existsSync('/usr/bin/time');
const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
const cpu: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
for (let round = 0; round < rounds; round++) {
  for (const [name, args] of Object.entries(cases)) {
    await rm(join(dir, 'ledger.jsonl.lock'), { force: true });
    const started = process.hrtime.bigint();
    const [command, argv] = gnuTime ? ['/usr/bin/time', ['-f', 'cpu %U %S', process.execPath, ...args]] : [process.execPath, args];
    const result = spawnSync(command, argv, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.status !== 0) throw new Error(`${name} exited ${result.status}: ${result.stderr.toString()}`);
    times[name]!.push(seconds);
    const used = /cpu ([\d.]+) ([\d.]+)/.exec(result.stderr.toString());
    if (used) cpu[name]!.push(Number(used[1]) + Number(used[2]));
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};
console.log(`start-up, median of ${rounds} interleaved rounds:`);
for (const [name, values] of Object.entries(times)) {
  const used = cpu[name]!.length ? `, cpu ${median(cpu[name]!).toFixed(3)} s` : '';
  console.log(`  ${name.padEnd(42)} ${median(values).toFixed(3)} s  (min ${Math.min(...values).toFixed(3)}${used})`);
}
const cli = median(times['avatar-import, empty CSV, --target dir']!);
console.log(`goal: avatar-import ≤ 0.300 s: ${cli <= 0.3 ? 'met' : 'missed'} (${cli.toFixed(3)} s)`);
