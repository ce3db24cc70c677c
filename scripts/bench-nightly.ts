// A nightly sync where nothing changed, run again.
//   - `dir`: N rows already done, run again, night after night. Prints the wall time and the bytes
//     of image read (target: 0), plus the first run for scale, and the ledger's size after every
//     night: nightly skips must not grow it without bound (the ledger compacts itself on close
//     once its row lines pass twice the live ones).
//   - Authgear: 10 000 users already done, against the fake Authgear answering after 20 ms, looked
//     up one per request (--lookup-batch-size 1, as before batching) and in the default batches:
//     requests to the Admin API and wall time (issue 17).
// Usage: npx tsx scripts/bench-nightly.ts [rows] [nights]   (default 100000 rows, 1 night; then Authgear)
//        npx tsx scripts/bench-nightly.ts authgear [users] [--sizes 1,25,50,…]
//        (the Authgear part only; --sizes measures other batch sizes, as the default was chosen)
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { DEFAULT_LOOKUP_BATCH_SIZE } from '../src/targets/authgear/options.js';
import type { Command, Started, Stats } from './bench-authgear-server.js';
import { benchDir, measureCli, smallPhotos, summaryLine, writeCsv } from './lib/bench.js';

const LATENCY_MS = 20;
const onlyAuthgear = process.argv[2] === 'authgear';
const authgearUsers = Number((onlyAuthgear && process.argv[3] && !process.argv[3].startsWith('--') ? process.argv[3] : undefined) ?? 10_000);
const sizesAt = process.argv.indexOf('--sizes');
const sizes = sizesAt > 0 ? process.argv[sizesAt + 1]!.split(',').map(Number) : [1, DEFAULT_LOOKUP_BATCH_SIZE];

async function benchDirTarget(): Promise<void> {
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
  // Every night is judged, not only the last: a night that compacts the ledger counts too.
  const walls: { seconds: number; compacted: boolean }[] = [];
  for (let night = 1; night <= nights; night++) {
    again = await measureCli(args);
    if (again.code !== 0) throw new Error(`re-run ${night} failed:\n${again.stdout}\n${again.stderr}`);
    sizes.push((await stat(ledger)).size);
    walls.push({ seconds: again.seconds, compacted: /compacted/.test(again.stderr) });
    if (nights > 1) console.log(`night ${String(night).padStart(2)}: ledger ${mib(sizes.at(-1)!)}  ${again.seconds.toFixed(1)} s wall, ${again.cpuSeconds.toFixed(1)} s CPU (main thread ${again.mainCpuSeconds.toFixed(2)} s), peak ${again.peakRssMiB.toFixed(0)} MiB${/compacted/.test(again.stderr) ? ', compacted on close' : ''}`);
  }
  const read = /images read: (\d+) \(([^)]*)\)/.exec(again.stdout);

  console.log(`\nbench-nightly: ${rows} rows, ${nights} night${nights === 1 ? '' : 's'} after the first run`);
  // CPU time (user + sys) beside wall: on a shared machine the wall clock mostly measures the neighbours.
  console.log(`first run:  ${first.seconds.toFixed(1)} s wall, ${first.cpuSeconds.toFixed(1)} s CPU  peak ${first.peakRssMiB.toFixed(0)} MiB  — ${summaryLine(first.stdout)}`);
  console.log(`re-run:     ${again.seconds.toFixed(1)} s wall, ${again.cpuSeconds.toFixed(1)} s CPU (main thread ${again.mainCpuSeconds.toFixed(2)} s)  peak ${again.peakRssMiB.toFixed(0)} MiB  — ${summaryLine(again.stdout)}`);
  const met = walls.filter((w) => w.seconds <= 3).length;
  const compacting = walls.filter((w) => w.compacted).map((w) => `${w.seconds.toFixed(1)} s`);
  console.log(`goal (issue 16, 100 000 rows): every night ≤ 3 s: ${met === walls.length ? 'met' : 'missed'} (met on ${met} of ${walls.length} night${walls.length === 1 ? '' : 's'}` +
    `${compacting.length > 0 ? `; the night${compacting.length === 1 ? '' : 's'} that compacted: ${compacting.join(', ')}` : ''})`);
  console.log(`image files read by the last re-run: ${read?.[1] ?? '?'} (${read?.[2] ?? '?'})  (target: 0)`);
  console.log(`ledger: ${mib(firstSize)} after the first run; after ${nights} night${nights === 1 ? '' : 's'} ${mib(sizes.at(-1)!)}, largest ${mib(Math.max(...sizes))} ` +
    `(${(Math.max(...sizes) / firstSize).toFixed(2)}× the first run; without compaction it would be ${mib(firstSize * (nights + 1))})`);
}

class ServerThread {
  // Workers do not inherit tsx's loader on Node 20: register it, then load the TypeScript entry.
  readonly #worker = new Worker(
    `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(new URL('./bench-authgear-server.ts', import.meta.url).href)}); });`,
    { eval: true },
  );
  ask<T>(command: Command): Promise<T> {
    return new Promise((resolve) => {
      this.#worker.once('message', resolve);
      this.#worker.postMessage(command);
    });
  }
}

async function benchAuthgear(users: number): Promise<void> {
  const dir = await benchDir(`nightly-authgear-${users}`);
  const ledger = join(dir, 'people.ledger.jsonl');
  await rm(ledger, { force: true });
  await smallPhotos(dir, 10);
  const emails = Array.from({ length: users }, (_, i) => `user${i}@bench.example`);
  const csv = join(dir, 'people.csv');
  await writeFile(csv, ['email,name,photo', ...emails.map((e, i) => `${e},Person ${i},photos/p${i % 10}.jpg`)].join('\n') + '\n');
  const server = new ServerThread();
  const fake = await server.ask<Started>({ cmd: 'start', users: emails });
  await mkdir(join(dir, 'keys'), { recursive: true });
  const keyFile = join(dir, 'keys', `${fake.keyId}.pem`);
  await writeFile(keyFile, fake.privateKeyPem, { mode: 0o600 });
  const args = [csv, '--target', 'authgear', '--endpoint', fake.url, '--project-id', fake.projectId, '--admin-key-file', keyFile, '--ledger', ledger, '--progress', 'off'];

  // The first run sets every picture; it is not what is measured, so it runs without latency.
  const first = await measureCli([...args, '--concurrency', '8']);
  if (first.code !== 0) throw new Error(`authgear first run failed:\n${first.stdout}\n${first.stderr}`);
  await server.ask({ cmd: 'faults', faults: { latencyMs: LATENCY_MS } });

  console.log(`\nbench-nightly: Authgear, ${users} unchanged users, fake Authgear answering after ${LATENCY_MS} ms, --concurrency 2 (default)`);
  for (const size of sizes) {
    const label = size === 1 ? 'before (--lookup-batch-size 1)' : `${size === DEFAULT_LOOKUP_BATCH_SIZE ? 'after' : 'with'} (--lookup-batch-size ${size}${size === DEFAULT_LOOKUP_BATCH_SIZE ? ', default' : ''})`;
    const extra = ['--lookup-batch-size', String(size)];
    const before = await server.ask<Stats>({ cmd: 'stats' });
    const run = await measureCli([...args, ...extra]);
    if (run.code !== 0) throw new Error(`authgear re-run failed:\n${run.stdout}\n${run.stderr}`);
    const after = await server.ask<Stats>({ cmd: 'stats' });
    const read = /images read: (\d+) \(([^)]*)\)/.exec(run.stdout);
    console.log(
      `${label.padEnd(38)} ${String(after.graphql - before.graphql).padStart(6)} requests ` +
        `(${after.lookups - before.lookups} lookups, ${after.updates - before.updates} updates)  ${run.seconds.toFixed(1).padStart(6)} s  ` +
        `images read ${read?.[1] ?? '?'}  — ${summaryLine(run.stdout)}`,
    );
  }
  await server.ask({ cmd: 'stop' });
}

if (!onlyAuthgear) await benchDirTarget();
await benchAuthgear(authgearUsers);
