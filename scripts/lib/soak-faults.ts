// The fault soak (issue 11): each remote target's test server behind a fault-injecting proxy
// (scripts/lib/fault-proxy.ts), N rows, two runs at most. Every row must end ok, the server must
// hold what the ledger says, and no stretch without a finished row may exceed twice the request
// timeout.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FaultProxy, type FaultKind } from './fault-proxy.js';
import { finished, judge, longestStall, readLines, startCli, type Verdict } from './soak.js';
import { startRig, type TargetName } from './soak-rigs.js';

export interface FaultSoakOptions {
  readonly targets: readonly TargetName[];
  readonly rows: number;
  /** Share of requests that meet a fault. */
  readonly rate: number;
  readonly seed: number;
  /** --request-timeout, seconds. */
  readonly requestTimeout: number;
  /** --concurrency: with two rows in flight, two unlucky rows at once look like a stall. */
  readonly concurrency: number;
  /** A fresh folder for the rigs. */
  readonly dir: string;
  readonly log?: (line: string) => void;
}

export interface FaultSoakResult {
  readonly target: TargetName;
  readonly rows: number;
  readonly requests: number;
  readonly faults: number;
  readonly byKind: Record<FaultKind, number>;
  /** Exit code and seconds of each run (one or two). */
  readonly runs: { code: number | null; seconds: number; longestStall: number }[];
  readonly notOk: number;
  readonly disagreements: number;
  readonly changedByUser: number;
  readonly longestStall: number;
  /** The longest the client kept a hung or slow request open, in seconds. */
  readonly longestHold: number;
  readonly verdict: Verdict;
  readonly lastStderr: string;
}

export async function soakFaults(options: FaultSoakOptions): Promise<FaultSoakResult[]> {
  const results: FaultSoakResult[] = [];
  for (const [i, name] of options.targets.entries()) {
    const rig = await startRig(name, join(options.dir, name), options.rows);
    const proxy = await FaultProxy.start({
      upstream: rig.serverUrl!,
      rate: options.rate,
      seed: options.seed + i,
      slowMs: options.requestTimeout * 1500,
      stormRequests: 4,
      stormRetryAfterSeconds: 1,
    });
    try {
      const runs: FaultSoakResult['runs'] = [];
      let verdict: Verdict | undefined;
      let lastStderr = '';
      for (let n = 0; n < 2; n++) {
        const before = (await readLines(rig.ledger)).length;
        const extra = process.env.SOAK_ARGS ? process.env.SOAK_ARGS.split(' ') : [];
        const done = await finished(startCli(rig, [...rig.args(proxy.url), '--request-timeout', String(options.requestTimeout), '--concurrency', String(options.concurrency), ...extra]));
        if (process.env.SOAK_ARGS) await writeFile(join(rig.dir, `run${n + 1}.stderr`), done.stderr);
        lastStderr = done.stderr;
        const lines = await readLines(rig.ledger);
        const runId = lines.slice(before).find((l) => l.type === 'run')?.run ?? '';
        runs.push({ code: done.code, seconds: done.seconds, longestStall: longestStall(lines, runId) });
        options.log?.(`${name}: run ${n + 1} exit ${done.code} in ${done.seconds.toFixed(1)} s, ${proxy.faults} faults so far`);
        proxy.enabled = false;
        verdict = await judge(rig, lines);
        proxy.enabled = true;
        if (verdict.lost.length === 0) break;
      }
      results.push({
        target: name,
        rows: options.rows,
        requests: proxy.requests,
        faults: proxy.faults,
        byKind: { ...proxy.injected },
        runs,
        notOk: verdict!.lost.length,
        disagreements: verdict!.disagreements.length,
        changedByUser: verdict!.changedByUser.length,
        longestStall: Math.max(...runs.map((r) => r.longestStall)),
        longestHold: proxy.longestHoldMs / 1000,
        verdict: verdict!,
        lastStderr,
      });
    } finally {
      await proxy.close();
      await rig.close();
    }
  }
  return results;
}
