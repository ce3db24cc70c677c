import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import type { RowLine, RunLine } from '../../src/ledger/lines.js';

// Builders for ledger lines and a way to run the ledger in another process, shared by the ledger
// tests and the child scripts in ./children.

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');

export const TARGET = 'dir:/srv/avatars';

export function runLine(run = 'run-1'): RunLine {
  return { type: 'run', run, version: '0.0.0-test', started: '2025-01-01T00:00:00.000Z', options: { size: 512 } };
}

/** An `ok` row for `user`: it says the target holds `out-<row>` as `<user>.jpg`. */
export function okRow(user: string, row: number, extra: Partial<RowLine> = {}): RowLine {
  return {
    type: 'row', ts: '2025-01-01T00:00:01.000Z', run: 'run-1', row, user, target: TARGET,
    source: `photos/${row}.jpg`, sourceSize: 1000 + row, sourceMtimeMs: 1_700_000_000_000, settings: 's512-q85',
    outputSha256: `out-${row}`, bytes: 4000 + row, edge: 512, quality: 85, status: 'ok', remote: `${user}.jpg`,
    ...extra,
  };
}

/** A `failed` row for `user`: it says nothing about what the target holds. */
export function failedRow(user: string, row: number, extra: Partial<RowLine> = {}): RowLine {
  return {
    type: 'row', ts: '2025-01-01T00:00:02.000Z', run: 'run-2', row, user, target: TARGET,
    source: `photos/${row}.jpg`, settings: 's512-q85', status: 'failed',
    error: { code: 'file_not_found', message: 'gone' },
    ...extra,
  };
}

export function jsonl(...lines: object[]): string {
  return lines.map((line) => JSON.stringify(line) + '\n').join('');
}

export async function withTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ledger-test-'));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface Child {
  readonly pid: number;
  readonly process: ChildProcess;
  /** The next line the child prints; rejects, with its stderr, if it exits first. */
  line(): Promise<string>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Run ./children/<name>.ts (the real sources, through ts-node) in its own node process. */
export function startChild(name: string, args: string[]): Child {
  const child = spawn(process.execPath, ['--no-warnings', '--loader', 'ts-node/esm', join(HERE, 'children', `${name}.ts`), ...args], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '', TS_NODE_TRANSPILE_ONLY: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    child.on('exit', (code, signal) => resolveExit({ code, signal })),
  );
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    pid: child.pid!,
    process: child,
    exited,
    async line() {
      const next = await lines.next();
      if (next.done) throw new Error(`child ${name} ended without printing a line; stderr:\n${stderr}`);
      return next.value;
    },
  };
}
