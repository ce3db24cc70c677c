// The kill soak (issue 11): runs killed with SIGKILL at seeded random moments (during start-up, or
// after a random number of rows), again and again, then one run left to finish. Halfway, everyone
// gets a new HR photo, so later kills also land between a replacing write and its ledger line.
// Afterwards every row must be done, the target must hold what the ledger says, nothing may have
// been applied twice except rows caught in flight by a kill, and no temp or lock file may be left.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { mulberry32 } from './fault-proxy.js';
import { finished, judge, readLines, startCli, strayFiles, type Line, type Verdict } from './soak.js';
import { photos, startRig, type Rig, type TargetName } from './soak-rigs.js';

export interface KillSoakOptions {
  readonly targets: readonly TargetName[];
  readonly rows: number;
  readonly kills: number;
  readonly seed: number;
  /** See Rig.answerAfter (default 40 ms). */
  readonly answerAfterMs?: number;
  readonly dir: string;
  readonly log?: (line: string) => void;
}

export interface KillSoakResult {
  readonly target: TargetName;
  readonly rows: number;
  readonly kills: number;
  /** Runs that ended on their own before their kill came (the work ran out first). */
  readonly completedRuns: number;
  readonly lost: number;
  /** Writes beyond one per user that no kill explains; undefined where the target keeps no
   * record of writes (dir: counted from the ledger's ok lines instead). */
  readonly appliedTwice: number;
  /** Users caught in flight by a kill (written, not yet recorded). */
  readonly inFlightAtKills: number;
  readonly disagreements: number;
  /** Issue 11 defect 1: users the tool itself wrote, skipped as changed_by_user (must be 0). */
  readonly changedByUser: number;
  readonly stray: string[];
  readonly finalExit: number | null;
  readonly verdict: Verdict;
}

const lineCount = async (path: string): Promise<number> => (await readLines(path)).length;

/** Kill the run when the ledger has `rows` more lines than `from`, or at `ms` when `rows` is 0. */
async function killWhen(rig: Rig, child: ReturnType<typeof startCli>, from: number, plan: { rows: number; ms: number }): Promise<boolean> {
  let exited = false;
  child.once('exit', () => (exited = true));
  const started = performance.now();
  let size = -1;
  for (;;) {
    if (exited) return false;
    if (plan.rows === 0) {
      if (performance.now() - started >= plan.ms) break;
    } else {
      // Re-read only when the file grew.
      const now = (await stat(rig.ledger).catch(() => undefined))?.size ?? 0;
      if (now !== size) {
        size = now;
        if ((await lineCount(rig.ledger)) - from >= plan.rows) {
          await new Promise((r) => setTimeout(r, plan.ms));
          break;
        }
      }
    }
    await new Promise((r) => setTimeout(r, 3));
  }
  if (exited) return false;
  return child.kill('SIGKILL');
}

export async function soakKill(options: KillSoakOptions): Promise<KillSoakResult[]> {
  const results: KillSoakResult[] = [];
  for (const [t, name] of options.targets.entries()) {
    const random = mulberry32(options.seed + t);
    const rig = await startRig(name, join(options.dir, name), options.rows);
    // Answers held a little after the work is done, as a real server's are by its network and
    // its own bookkeeping: without it a kill almost never lands between a write and its answer.
    rig.answerAfter(options.answerAfterMs ?? 40);
    try {
      const inFlight = new Map<string, number>();
      let firstPhase: Map<string, number | undefined> | undefined;
      let kills = 0;
      let completedRuns = 0;
      let guard = 0;
      while (kills < options.kills && guard++ < options.kills * 4) {
        if (!firstPhase && kills >= Math.floor(options.kills / 2)) {
          firstPhase = new Map(rig.users.map((u) => [u, rig.writes(u)]));
          await photos(rig.dir, rig.users.length, 1);
          options.log?.(`${name}: new photos for everyone`);
        }
        const before = await readLines(rig.ledger);
        const writesBefore = new Map(rig.users.map((u) => [u, rig.writes(u)]));
        // One kill in five during start-up or the first rows' work, the rest after 1-12 rows.
        const plan = random() < 0.2 ? { rows: 0, ms: Math.floor(random() * 1500) } : { rows: 1 + Math.floor(random() * 12), ms: Math.floor(random() * 40) };
        const child = startCli(rig, rig.args());
        const done = finished(child);
        const killed = await killWhen(rig, child, before.length, plan);
        const result = await done;
        if (!killed || result.signal !== 'SIGKILL') {
          completedRuns++;
          continue;
        }
        kills++;
        // In flight: written on the server during this run, with no outcome line from it.
        const after = await readLines(rig.ledger);
        const recorded = new Set(after.slice(before.length).filter((l) => l.type === 'row').map((l) => l.user));
        for (const user of rig.users) {
          const w0 = writesBefore.get(user);
          const w1 = rig.writes(user);
          if (w0 !== undefined && w1 !== undefined && w1 > w0 && !recorded.has(user)) inFlight.set(user, (inFlight.get(user) ?? 0) + (w1 - w0));
        }
        options.log?.(`${name}: kill ${kills} (${plan.rows ? `after ${plan.rows} rows` : `at ${plan.ms} ms`}), ${after.filter((l) => l.type === 'row').length} row lines so far`);
      }
      const final = await finished(startCli(rig, rig.args()));
      const lines = await readLines(rig.ledger);
      const verdict = await judge(rig, lines);
      results.push({
        target: name,
        rows: options.rows,
        kills,
        completedRuns,
        lost: verdict.lost.length,
        appliedTwice: appliedTwice(rig, lines, inFlight, firstPhase),
        inFlightAtKills: [...inFlight.values()].reduce((a, b) => a + b, 0),
        disagreements: verdict.disagreements.length,
        changedByUser: verdict.changedByUser.length,
        stray: await strayFiles(rig.dir),
        finalExit: final.code,
        verdict,
      });
    } finally {
      await rig.close();
    }
  }
  return results;
}

/** Writes no kill explains: beyond one per photo the user had, minus those a kill caught in
 * flight. A folder keeps no record of writes, so there only recorded re-applications count (ok
 * lines beyond one per distinct output). */
function appliedTwice(rig: Rig, lines: readonly Line[], inFlight: Map<string, number>, firstPhase: Map<string, number | undefined> | undefined): number {
  let extra = 0;
  const outputs = new Map<string, { oks: number; distinct: Set<string> }>();
  for (const line of lines) {
    if (line.type !== 'row' || line.status !== 'ok' || !line.user) continue;
    const entry = outputs.get(line.user) ?? { oks: 0, distinct: new Set<string>() };
    entry.oks++;
    entry.distinct.add(String((line as { outputSha256?: string }).outputSha256));
    outputs.set(line.user, entry);
  }
  for (const user of rig.users) {
    const writes = rig.writes(user);
    if (writes === undefined) {
      const entry = outputs.get(user);
      extra += entry ? entry.oks - entry.distinct.size : 0;
      continue;
    }
    const before = firstPhase?.get(user) ?? writes;
    const phases = (before > 0 ? 1 : 0) + (writes > before ? 1 : 0);
    extra += Math.max(0, writes - phases - (inFlight.get(user) ?? 0));
  }
  return extra;
}
