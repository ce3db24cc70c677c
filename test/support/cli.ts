import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultLedgerPath } from '../../src/ledger/location.js';

// The CLI as users run it: the built bin in a child process (npm test builds first).

export const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../dist/cli/bin.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

let sharedState: string | undefined;

/** A remote target's default ledger lives in $XDG_STATE_HOME: a test never writes to the real
 * one. Tests that read that ledger give each run's folder its own (`stateEnv`). */
function defaultStateHome(): string {
  return (sharedState ??= mkdtempSync(join(tmpdir(), 'avatar-import-state-')));
}

/** The environment that puts a run's state folder inside a test's own folder. */
export function stateEnv(dir: string): { XDG_STATE_HOME: string } {
  return { XDG_STATE_HOME: join(dir, 'state') };
}

/** Where a remote target's default ledger is for runs given `stateEnv(dir)`. */
export function remoteLedger(dir: string, name: string, url: string): string {
  return defaultLedgerPath({ name, id: `${name}:${url}` }, stateEnv(dir));
}

/** Where a `dir` target's default ledger is: inside the output folder. */
export function dirLedger(out: string): string {
  return join(out, '.avatar-import', 'ledger.jsonl');
}

/** The avatars in a `dir` output folder, sorted: its hidden state folder (`.avatar-import/`, the
 * ledger) is not an avatar. */
export async function avatarsIn(out: string): Promise<string[]> {
  return (await readdir(out)).filter((name) => !name.startsWith('.')).sort();
}

export function startCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? process.cwd(),
    env: { ...process.env, NODE_OPTIONS: '', XDG_STATE_HOME: defaultStateHome(), ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<CliResult> {
  const child = startCli(args, options);
  return collect(child, options.input);
}

export function collect(child: ChildProcess, input?: string): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin!.end(input ?? '');
  return new Promise((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
  });
}

export { tempDir } from '../../testkit/temp-dir.js';

export interface LedgerRow {
  type: string;
  status?: string;
  user?: string;
  row?: number;
  reason?: string;
  error?: { code: string; message: string; retryable?: boolean };
  [key: string]: unknown;
}

/** Parsed ledger lines (a torn last line is dropped, as the tool itself does). */
export async function readLedger(path: string): Promise<LedgerRow[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const rows: LedgerRow[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      rows.push(JSON.parse(line) as LedgerRow);
    } catch {
      /* torn line */
    }
  }
  return rows;
}

export function rowLines(lines: LedgerRow[]): LedgerRow[] {
  return lines.filter((line) => line.type === 'row');
}

/** The rows of the latest run only. */
export function lastRun(lines: LedgerRow[]): LedgerRow[] {
  const start = lines.map((line) => line.type).lastIndexOf('run');
  return rowLines(lines.slice(start + 1));
}
