// The ledger commands on a big ledger: wall time and peak RSS of each, so the README can show
// they stream (memory grows with the users, a few numbers each, not with the lines).
// The ledger is synthesised: U users, each with an `ok` night and N-1 nights of skips, and 1 % of
// users failing on the last night.
// Usage: npx tsx scripts/bench-ledger-tools.ts [users] [nights]   (default 500000 users, 2 nights = 1 M lines)
import { createWriteStream } from 'node:fs';
import { copyFile, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { benchDir, measureCli } from './lib/bench.js';

const users = Number(process.argv[2] ?? 500_000);
const nights = Number(process.argv[3] ?? 2);
const dir = await benchDir(`ledger-tools-${users}x${nights}`);
const ledger = join(dir, 'big.ledger.jsonl');
const target = 'dir:/srv/avatars';

const out = createWriteStream(ledger);
for (let night = 1; night <= nights; night++) {
  const run = `2026-10-${String(night).padStart(2, '0')}T0200Z-bench${night}`;
  const started = `2026-10-${String(night).padStart(2, '0')}T02:00:00.000Z`;
  out.write(JSON.stringify({ type: 'run', run, version: '0.1.0', started, options: { target, csv: '/srv/hr/people.csv' } }) + '\n');
  const counts = { ok: 0, skipped: 0, failed: 0 };
  for (let i = 0; i < users; i++) {
    const base = {
      type: 'row', ts: started, run, row: i + 1, line: i + 2, user: `user${i}`, target, source: `/srv/hr/photos/p${i}.jpg`,
      sourceSize: 30_000 + (i % 1000), sourceMtimeMs: 1_763_865_240_123.4, sourceSha256: 'a'.repeat(64), settings: '9d41c0a7e2b85f13',
    };
    let line: object;
    if (night === nights && i % 100 === 7) {
      line = { ...base, status: 'failed', error: { code: 'file_not_found', message: `/srv/hr/photos/p${i}.jpg does not exist`, retryable: true } };
      counts.failed++;
    } else {
      line = { ...base, outputSha256: 'b'.repeat(64), bytes: 41_873, edge: 480, quality: 85, status: night === 1 ? 'ok' : 'skipped', remote: 'b'.repeat(64), stamp: 1_763_865_667_512 };
      counts[night === 1 ? 'ok' : 'skipped']++;
    }
    if (!out.write(JSON.stringify(line) + '\n')) await once(out, 'drain');
  }
  out.write(JSON.stringify({ type: 'end', run, ended: started, exit: counts.failed ? 1 : 0, counts }) + '\n');
}
out.end();
await once(out, 'finish');
const size = (await stat(ledger)).size;
console.log(`bench-ledger-tools: ${users} users × ${nights} nights = ${users * nights} row lines, ${(size / 2 ** 20).toFixed(0)} MiB`);

const commands: [string, string[]][] = [
  ['status', ['status']],
  ['failed --format csv', ['failed', '--format', 'csv']],
  ['show user123', ['show', 'user123']],
  ['runs', ['runs']],
  // --keep-runs 1: the synthetic first night's `ok` lines are then history, as after ten real nights.
  ['compact --keep-runs 1', ['compact', '--keep-runs', '1']],
];
const work = join(dir, 'work.ledger.jsonl');
for (const [name, args] of commands) {
  await copyFile(ledger, work);
  const result = await measureCli(['ledger', ...args, '--ledger', work]);
  if (result.code !== 0) throw new Error(`${name} failed:\n${result.stderr}`);
  const after = name.startsWith('compact') ? `  → ${((await stat(work)).size / 2 ** 20).toFixed(0)} MiB` : '';
  console.log(`${name.padEnd(20)} ${result.seconds.toFixed(1).padStart(6)} s  peak ${result.peakRssMiB.toFixed(0).padStart(4)} MiB${after}`);
}
await rm(work, { force: true });
await rm(ledger, { force: true });
