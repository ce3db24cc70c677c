// What the soak scripts share: running the built CLI as a child (as cron would), reading its
// ledger the way the tool does (a torn last line is skipped), and judging the final state.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { comparableRemote, type Rig } from './soak-rigs.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// SOAK_BIN: a copy of dist/ (at the repository's root, e.g. dist-soak/) so that a build during a
// long soak cannot swap files under the runs.
export const BIN = join(ROOT, process.env.SOAK_BIN ?? 'dist', 'cli/bin.js');

export interface Line {
  type: string;
  run?: string;
  started?: string;
  ts?: string;
  row?: number;
  user?: string;
  status?: string;
  reason?: string;
  remote?: string;
  error?: { code: string; message: string };
}

export function startCli(rig: Rig, args: string[]): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, NODE_OPTIONS: '', ...rig.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  seconds: number;
  /** The last few KiB of each stream, for reporting a failure. */
  stdout: string;
  stderr: string;
}

export function finished(child: ChildProcess, started = performance.now()): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout = (stdout + chunk).slice(-8192)));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-(process.env.SOAK_ARGS ? 4_000_000 : 8192))));
  return new Promise((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code, signal, seconds: (performance.now() - started) / 1000, stdout, stderr }));
  });
}

export async function readLines(path: string): Promise<Line[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const lines: Line[] = [];
  for (const raw of text.split('\n')) {
    if (!raw) continue;
    try {
      lines.push(JSON.parse(raw) as Line);
    } catch {
      /* a torn last line, as a kill leaves it */
    }
  }
  return lines;
}

/** Each user's latest row line. */
export function latestByUser(lines: readonly Line[]): Map<string, Line> {
  const latest = new Map<string, Line>();
  for (const line of lines) if (line.type === 'row' && line.user !== undefined) latest.set(line.user, line);
  return latest;
}

export interface Verdict {
  /** Users whose latest outcome is not ok/skipped, or who have none. */
  lost: string[];
  /** Skipped as changed_by_user although nobody but the tool touched them (issue 11, defect 1). */
  changedByUser: string[];
  /** The ledger says the target holds X; the target holds something else. */
  disagreements: string[];
}

export async function judge(rig: Rig, lines: readonly Line[]): Promise<Verdict> {
  const latest = latestByUser(lines);
  const verdict: Verdict = { lost: [], changedByUser: [], disagreements: [] };
  for (const user of rig.users) {
    const line = latest.get(user);
    if (!line || (line.status !== 'ok' && line.status !== 'skipped')) {
      verdict.lost.push(user);
      continue;
    }
    if (line.reason === 'changed_by_user') {
      verdict.changedByUser.push(user);
      continue;
    }
    const held = await rig.current(user);
    if (line.remote === undefined || comparableRemote(line.remote) !== held) verdict.disagreements.push(user);
  }
  return verdict;
}

/** Files a finished run should not leave behind: temp files, locks. */
export async function strayFiles(folder: string): Promise<string[]> {
  const stray: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (/\.tmp$|\.lock$|^\.avatar-import-/.test(entry.name)) stray.push(path);
    }
  };
  await walk(folder);
  return stray;
}

/** The longest time without a row finishing, between the run's first and last rows, in seconds
 * (before the first row is start-up: opening the target, the first lookups). */
export function longestStall(lines: readonly Line[], runId: string): number {
  const times = lines.filter((l) => l.type === 'row' && l.run === runId && l.ts).map((l) => Date.parse(l.ts!)).sort((a, b) => a - b);
  let longest = 0;
  for (let i = 1; i < times.length; i++) longest = Math.max(longest, times[i]! - times[i - 1]!);
  return longest / 1000;
}
