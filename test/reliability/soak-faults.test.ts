import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { soakFaults } from '../../scripts/lib/soak-faults.js';

// The fault soak of scripts/soak-faults.ts at CI size: each remote target's test server behind the
// fault-injecting proxy (5xx, resets before and after the server applied the request, 429 storms,
// cut bodies, answers slower than the timeout, hung requests). The full-size figures are in the
// README.

// Long enough that the fake servers, slowed by a busy CI machine, answer writes within it.
const TIMEOUT_S = 4;
let dir: string;
beforeAll(async () => (dir = await mkdtemp(join(tmpdir(), 'avatar-import-ci-faults-'))));
afterAll(async () => rm(dir, { recursive: true, force: true }));

test('through faults on one request in six, every row ends ok within two runs and the server holds what the ledger says', async () => {
  const results = await soakFaults({ targets: ['matrix', 'zulip', 'authgear'], rows: 30, rate: 0.16, seed: 5, requestTimeout: TIMEOUT_S, concurrency: 4, dir });

  for (const r of results) {
    expect({ target: r.target, notOk: r.verdict.lost, disagreements: r.verdict.disagreements }).toEqual({ target: r.target, notOk: [], disagreements: [] });
    expect(r.runs.length).toBeLessThanOrEqual(2);
    // The client let go of every hung or slow request at its deadline, not at got's 90 s.
    expect(r.longestHold).toBeLessThanOrEqual(2 * TIMEOUT_S);
  }
  // The faults did happen: the proxy is not a pass-through.
  expect(results.reduce((n, r) => n + r.faults, 0)).toBeGreaterThan(20);
  expect(results.reduce((n, r) => n + r.byKind.hang + r.byKind.slow, 0)).toBeGreaterThan(0);
}, 240_000);
