import { open, type FileHandle } from 'node:fs/promises';

import { lineBatches } from './line-batches.js';
import { isEndLine, isIntentLine, isRowLine, isRunLine, type IntentLine, type LedgerLine } from './lines.js';
import { scanRowKey, type RowKey } from './scan-line.js';

/**
 * Every run and row line of a ledger, in file order, for tools that walk the whole history
 * (export, compact). Like the index it skips an unterminated last line (torn, or being written
 * right now by a live run) and any line that is not JSON or not a line it knows. Takes no lock.
 */
export function readLines(path: string): AsyncGenerator<LedgerLine> {
  return read(path, false) as AsyncGenerator<LedgerLine>;
}

/** readLines with the intent lines too (rollback: a write whose row line a kill lost). */
export function readLinesAndIntents(path: string): AsyncGenerator<LedgerLine | IntentLine> {
  return read(path, true);
}

async function* read(path: string, intents: boolean): AsyncGenerator<LedgerLine | IntentLine> {
  for await (const batch of batches(path)) {
    for (const text of batch) {
      const line = parse(text, intents);
      if (line !== undefined) yield line;
    }
  }
}

/**
 * The (target, user) of every row line, in file order, like readLines but without building each
 * line's object: the top-level scan the index uses (scan-line.ts), JSON.parse only where the scan
 * is not sure. For a pass that needs no more than who has lines (the leavers' first pass).
 */
export async function* readRowKeys(path: string): AsyncGenerator<{ readonly target: string; readonly user: string }> {
  const key: RowKey = { type: undefined, target: undefined, user: undefined, remote: false };
  for await (const batch of batches(path)) {
    for (const text of batch) {
      if (scanRowKey(text, key)) {
        if (key.type === 'row' && key.target !== undefined && key.user !== undefined) yield { target: key.target, user: key.user };
      } else {
        const line = parse(text, false);
        if (line?.type === 'row') yield { target: line.target, user: line.user };
      }
    }
  }
}

/** The complete lines of the ledger as it is now (no lock), a chunk's worth at a time (one await
 * a line would cost more than the parsing); none when there is no ledger yet. */
async function* batches(path: string): AsyncGenerator<readonly string[]> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    // Up to the size at the start: a live run's later lines are not part of this snapshot.
    const { size } = await handle.stat();
    for await (const { texts } of lineBatches(handle, size)) yield texts;
  } finally {
    await handle.close();
  }
}

function parse(text: string, intents: boolean): LedgerLine | IntentLine | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isRowLine(value) || isRunLine(value) || isEndLine(value) || (intents && isIntentLine(value)) ? value : undefined;
  } catch {
    return undefined;
  }
}
