import { open, type FileHandle } from 'node:fs/promises';

import { lineBatches } from './line-batches.js';
import { isEndLine, isIntentLine, isRowLine, isRunLine, type IntentLine, type LedgerLine } from './lines.js';

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
    for await (const { texts } of lineBatches(handle, size)) {
      for (const text of texts) {
        const line = parse(text, intents);
        if (line !== undefined) yield line;
      }
    }
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
