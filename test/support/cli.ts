import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// The CLI as users run it: the built bin in a child process (npm test builds first).

export const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../dist/cli/bin.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function startCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? process.cwd(),
    env: { ...process.env, NODE_OPTIONS: '', ...options.env },
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
