import { read } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

import type { KeptLines } from '../offset-index.js';
import type { TrustedRange } from '../trusted-lines.js';
import { judgeStretch, type ReadAt } from './judge-lines.js';

// A worker thread judging the second half of a ledger being compacted (compact-from-index.ts):
// it reads through the main thread's open file (a descriptor is the process's, not a thread's) and
// answers once, with its findings (null: compaction must give up). An error ends the thread, and
// the main thread judges the half itself.

interface Task {
  readonly fd: number;
  readonly from: number;
  readonly to: number;
  readonly chunkBytes: number;
  readonly kept: KeptLines;
  readonly trusted: readonly TrustedRange[];
}

const { fd, from, to, chunkBytes, kept, trusted } = workerData as Task;
const readAt: ReadAt = (into, at, length, position) =>
  new Promise((resolve, reject) => read(fd, into, at, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead))));

const stretch = await judgeStretch(readAt, from, to, chunkBytes, kept, trusted);
const transfer = stretch === undefined ? [] : [...stretch.info, ...stretch.keyHi, ...stretch.keyLo].map((chunk) => chunk.buffer as ArrayBuffer);
parentPort!.postMessage(stretch ?? null, transfer);
