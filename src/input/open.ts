// The HR export as a table, whatever it came as: a CSV (any delimiter and encoding, csv.ts) or an
// Excel workbook (xlsx.ts), told apart by the name or, for a misnamed file, by its first bytes.

import { createReadStream } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { UsageError } from '../errors.js';
import { openCsv } from './csv.js';
import { announce } from './encoding.js';
import type { TableInput } from './table.js';
import { looksLikeXlsx, openXlsx } from './xlsx.js';

export interface TableOptions {
  readonly delimiter?: string;
  readonly encoding?: string;
  readonly skipLines?: number;
  readonly skipRowsMatching?: string;
  readonly sheet?: string;
  /** Hears an encoding decided after the header (stdin whose first non-ASCII byte is late). */
  readonly onEncoding?: (line: string) => void;
}

export interface OpenedTable {
  readonly table: TableInput;
  readonly format: 'csv' | 'xlsx';
  /** How a CSV written back for the user (the failed-rows report) should be: like the input. */
  readonly delimiter: string;
  /** An iconv-lite name. */
  readonly encoding: string;
  /** The line to say first when the encoding was guessed (encoding.ts). */
  readonly notice?: string;
}

/** `path` undefined: read `stdin` (always CSV: a workbook cannot be streamed from a pipe's end). */
export async function openTable(path: string | undefined, stdin: NodeJS.ReadableStream, options: TableOptions): Promise<OpenedTable> {
  const skipRowsMatching = options.skipRowsMatching === undefined ? undefined : new RegExp(options.skipRowsMatching);
  const common = {
    ...(options.skipLines === undefined ? {} : { skipLines: options.skipLines }),
    ...(skipRowsMatching === undefined ? {} : { skipRowsMatching }),
  };
  if (path !== undefined && (await isWorkbook(path))) {
    if (options.delimiter !== undefined || options.encoding !== undefined) {
      throw new UsageError(`${path} is an Excel workbook: --delimiter and --encoding apply to CSV files only`);
    }
    const table = await openXlsx(() => createReadStream(path), { ...common, ...(options.sheet === undefined ? {} : { sheet: options.sheet }) });
    return { table, format: 'xlsx', delimiter: ',', encoding: 'utf-8' };
  }
  if (options.sheet !== undefined) throw new UsageError(`--sheet applies to .xlsx workbooks; ${path ?? 'standard input'} is read as CSV`);
  const table = await openCsv(path === undefined ? stdin : createReadStream(path, { highWaterMark: CSV_CHUNK_BYTES }), {
    ...common,
    ...(options.delimiter === undefined ? {} : { delimiter: options.delimiter }),
    ...(options.encoding === undefined ? {} : { encoding: options.encoding }),
    ...(path === undefined ? {} : { rescan: () => createReadStream(path) }),
    ...(options.onEncoding ? { onEncoding: (choice) => options.onEncoding!(announce(choice) ?? `encoding: ${choice.name}`) } : {}),
  });
  const notice = announce(table.encoding);
  return { table, format: 'csv', delimiter: table.delimiter, encoding: table.encoding.name, ...(notice === undefined ? {} : { notice }) };
}

/**
 * Smaller than the stream default (64 KiB): a chunk is parsed into its records at once, and records
 * waiting that long outlive a young-generation collection, so a nightly run of 100 000 rows
 * promoted (and later collected again) most of its CSV. Measured: 16 KiB halves that.
 */
const CSV_CHUNK_BYTES = 16 * 1024;

async function isWorkbook(path: string): Promise<boolean> {
  if (['.xlsx', '.xlsm'].includes(extname(path).toLowerCase())) return true;
  const handle = await openFile(path, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    return looksLikeXlsx(head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}
