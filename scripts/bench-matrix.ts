// Throughput of the Matrix target against the fake Synapse answering after 20 ms:
//   npx tsx scripts/bench-matrix.ts [rows] [concurrency]
// Drives the target's resolve + apply directly (no image work), so the figures are the network
// layer's: the pacer, its AIMD window, --max-rate and 429 handling. The server runs in a worker
// thread so that its work is not billed to the client. Prints one line per scenario; exits 1
// when a goal of the issue is missed.
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import pLimit from 'p-limit';
import { createLogger } from '../src/log.js';
import { createHttp } from '../src/net/http.js';
import { MatrixTarget } from '../src/targets/matrix/target.js';
import type { Avatar } from '../src/targets/target.js';
import type { Faults } from '../testkit/servers/harness.js';
import type { SynapseOptions } from '../testkit/servers/synapse.js';
import type { Command, Stats } from './bench-matrix-server.js';

const LATENCY_MS = 20;
const rows = Number(process.argv[2] ?? 400);
const concurrency = Number(process.argv[3] ?? 8);
const log = createLogger({ quiet: true, write: () => undefined });

interface Scenario {
  readonly name: string;
  readonly rows: number;
  readonly release?: SynapseOptions['release'];
  readonly maxRate?: number;
  readonly limiter?: Faults['rateLimit'];
  /** The request rate to reach, and the share of it that passes; none: informational. */
  readonly goal?: { readonly rate: number; readonly atLeast: number; readonly atMost?: number; readonly label: string };
}

class ServerThread {
  // Workers do not inherit tsx's loader on Node 20: register it, then load the TypeScript entry.
  readonly #worker = new Worker(
    `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(new URL('./bench-matrix-server.ts', import.meta.url).href)}); });`,
    { eval: true },
  );
  ask<T>(command: Command): Promise<T> {
    return new Promise((resolve) => {
      this.#worker.once('message', resolve);
      this.#worker.postMessage(command);
    });
  }
}

function avatar(i: number): Avatar {
  const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.alloc(40_000, i % 251), Buffer.from(String(i)), Buffer.from([0xff, 0xd9])]);
  return { jpeg, sha256: createHash('sha256').update(jpeg).digest('hex'), edge: 512, quality: 85 };
}

/** Mean time of sequential requests through the same client stack: the RTT the run really sees. */
async function measureRtt(url: string, token: string): Promise<number> {
  const http = createHttp({ baseUrl: url, log, bearer: () => token });
  const whoami = { method: 'GET', path: '/_matrix/client/v3/account/whoami' } as const;
  await http.request(whoami);
  const started = performance.now();
  for (let i = 0; i < 20; i++) await http.request(whoami);
  return (performance.now() - started) / 20;
}

async function run(s: Scenario): Promise<{ pass: boolean; rtt: number }> {
  const server = new ServerThread();
  const { url, token, users } = await server.ask<{ url: string; token: string; users: string[] }>({ cmd: 'start', options: { release: s.release ?? 'new' }, users: s.rows });
  const target = new MatrixTarget({ homeserver: url, token, concurrency, retries: 5, ...(s.maxRate ? { maxRate: s.maxRate } : {}) }, { log });
  await target.open(new AbortController().signal);
  await server.ask({ cmd: 'faults', faults: { latencyMs: LATENCY_MS } });
  const rtt = await measureRtt(url, token);
  await server.ask({ cmd: 'faults', faults: { latencyMs: LATENCY_MS, ...(s.limiter ? { rateLimit: s.limiter } : {}) } });
  const before = await server.ask<Stats>({ cmd: 'stats' });

  const limit = pLimit(concurrency);
  const started = performance.now();
  const results = await Promise.allSettled(users.map((user, i) => limit(async () => target.apply(await target.resolve(user, undefined), avatar(i)))));
  const seconds = (performance.now() - started) / 1000;

  const after = await server.ask<Stats>({ cmd: 'stats' });
  if (process.env.DEBUG) console.log(after.byOutcome); // requests per route and status
  const limited = after.limited - before.limited;
  const passed = after.requests - before.requests - limited;
  const failed = results.filter((r) => r.status === 'rejected').length;
  const rate = passed / seconds;
  const ratio = s.goal ? rate / s.goal.rate : NaN;
  const pass = !s.goal || (ratio >= s.goal.atLeast && ratio <= (s.goal.atMost ?? Infinity) && failed === 0);
  console.log(
    `${s.name.padEnd(36)} ${String(s.rows).padStart(4)} rows ${seconds.toFixed(2).padStart(6)} s ` +
      `${(s.rows / seconds).toFixed(1).padStart(6)} rows/s ${rate.toFixed(1).padStart(6)} req/s ` +
      `429s ${String(limited).padStart(4)} failed ${failed} window ${target.pacer!.stats.limit}/${concurrency}  ` +
      (s.goal ? `${(ratio * 100).toFixed(0)}% of ${s.goal.label} ${pass ? 'PASS' : 'MISS'}` : 'informational'),
  );
  await target.close();
  await server.ask({ cmd: 'stop' });
  return { pass, rtt };
}

console.log(`avatar-import bench-matrix: fake Synapse on 127.0.0.1 (own thread), answers held ${LATENCY_MS} ms, ` +
  `2 requests per row (upload 40 kB + profile PUT), concurrency ${concurrency}`);
// The RTT includes got and the server's own time, so the ideal is computed from what is measured.
const probe = new ServerThread();
const { url, token } = await probe.ask<{ url: string; token: string }>({ cmd: 'start', options: {}, users: 0 });
await probe.ask({ cmd: 'faults', faults: { latencyMs: LATENCY_MS } });
const rtt = await measureRtt(url, token);
await probe.ask({ cmd: 'stop' });
const ideal = (concurrency * 1000) / rtt;
console.log(`measured RTT ${rtt.toFixed(1)} ms → concurrency ÷ RTT = ${ideal.toFixed(0)} req/s`);

const scenarios: Scenario[] = [
  { name: 'no limit', rows, goal: { rate: ideal, atLeast: 0.8, label: 'concurrency ÷ RTT' } },
  { name: '--max-rate 50', rows: 150, maxRate: 50, goal: { rate: 50, atLeast: 0.9, atMost: 1.1, label: 'the 50/s allowed' } },
  { name: '--max-rate 150', rows: 300, maxRate: 150, goal: { rate: 150, atLeast: 0.9, atMost: 1.1, label: 'the 150/s allowed' } },
  // A limiter in front of Synapse (a proxy's), answering Synapse-style 429s: the pacer pauses
  // the whole target and shrinks its window; no row may fail.
  { name: 'limiter 50/s in front, Synapse 1.67', rows: 150, release: 'old', limiter: { perSecond: 50, burst: 10 }, goal: { rate: 50, atLeast: 0.9, atMost: 1.1, label: 'the 50/s allowed' } },
  { name: 'limiter 50/s in front, Synapse 1.157', rows: 150, release: 'new', limiter: { perSecond: 50, burst: 10 }, goal: { rate: 50, atLeast: 0.9, atMost: 1.1, label: 'the 50/s allowed' } },
  { name: 'same, with --max-rate 48', rows: 150, release: 'new', maxRate: 48, limiter: { perSecond: 50, burst: 10 }, goal: { rate: 48, atLeast: 0.9, atMost: 1.1, label: 'the 48/s asked' } },
];
let ok = true;
for (const scenario of scenarios) ok = (await run(scenario)).pass && ok;
process.exitCode = ok ? 0 : 1;
