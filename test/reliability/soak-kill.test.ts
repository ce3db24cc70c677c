import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { soakKill } from '../../scripts/lib/soak-kill.js';

// The kill soak of scripts/soak-kill.ts at CI size: runs killed with SIGKILL at seeded moments
// against dir and each remote test server, then one run left to finish.

let dir: string;
beforeAll(async () => (dir = await mkdtemp(join(tmpdir(), 'avatar-import-ci-kill-'))));
afterAll(async () => rm(dir, { recursive: true, force: true }));

test('after kill -9 at random moments, the next run loses nothing, applies nothing twice beyond rows in flight, takes none of its own writes for a user\'s, and leaves no stray file', async () => {
  const results = await soakKill({ targets: ['dir', 'matrix', 'zulip', 'authgear'], rows: 60, kills: 3, seed: 5, dir });

  for (const r of results) {
    expect({
      target: r.target, kills: r.kills, finalExit: r.finalExit, lost: r.verdict.lost, appliedTwice: r.appliedTwice,
      disagreements: r.verdict.disagreements, changedByUser: r.verdict.changedByUser, stray: r.stray,
    }).toEqual({ target: r.target, kills: 3, finalExit: 0, lost: [], appliedTwice: 0, disagreements: [], changedByUser: [], stray: [] });
  }
}, 240_000);
