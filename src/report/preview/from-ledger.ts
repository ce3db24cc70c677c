import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, isAbsolute } from 'node:path';
import pLimit from 'p-limit';
import { UsageError } from '../../errors.js';
import { normalise, type NormaliseOptions } from '../../image/normalise.js';
import { openCsv, type CsvProblem, type CsvRecord } from '../../input/csv.js';
import { readLines } from '../../ledger/read.js';
import type { RowLine, RunLine } from '../../ledger/lines.js';
import { displayColumns } from './columns.js';
import { ContactSheet } from './contact-sheet.js';
import { sourceThumbnail } from './thumbnail.js';

// `avatar-import ledger preview --run ID --preview FILE.html`: the contact sheet of a run that is
// over. The ledger holds each row's outcome and source path, not pictures, so the pictures are
// made again: the source is read if it is still there and still the same bytes (its sha256 in the
// ledger), and the avatar is normalised again with the run's own settings and checked against the
// ledger's output sha256. Cards say when that was not possible (photo gone, changed, a URL). The
// display columns come from the run's CSV when it is still there.

export interface LedgerPreviewOptions {
  readonly ledger: string;
  readonly run: string;
  readonly file: string;
  /** Sources decoded at once. */
  readonly jobs: number;
}

export interface LedgerPreviewResult {
  readonly rows: number;
  /** Rows whose avatar was made again and matched what was sent. */
  readonly identical: number;
  /** Rows whose pictures could not be shown (photo gone, changed, a URL). */
  readonly unavailable: number;
}

/** A source larger than this is not read again for a preview. */
const MAX_SOURCE_BYTES = 64 * 1024 * 1024;
/** CSV records whose ledger line has not come yet are dropped once this far behind: rows of a run
 * finish at most a window (a few hundred rows) out of order, so later ones never come. */
const FIELDS_LAG = 10_000;

export async function previewFromLedger(options: LedgerPreviewOptions): Promise<LedgerPreviewResult> {
  const runs: string[] = [];
  let runLine: RunLine | undefined;
  let sheet: ContactSheet | undefined;
  let fields: FieldsByRow | undefined;
  let settingsFor: (target: string) => NormaliseOptions | undefined = () => undefined;
  let rows = 0;
  let identical = 0;
  let unavailable = 0;
  const limit = pLimit(options.jobs);
  const pending = new Set<Promise<void>>();

  try {
    for await (const line of readLines(options.ledger)) {
      if (line.type === 'run') {
        if (line.run !== options.run) {
          runs.push(line.run);
          if (runs.length > 5) runs.shift();
          continue;
        }
        runLine = line;
        settingsFor = settingsOf(line);
        fields = await FieldsByRow.open(line);
        sheet = await ContactSheet.open({
          file: options.file,
          columns: fields?.columns ?? [],
          meta: {
            title: `${basename(String(line.options['csv'] ?? 'CSV'))} → ${String(line.options['target'] ?? 'target')}`,
            facts: [`run ${line.run}`, `started ${line.started}`, `ledger ${options.ledger}`, 'pictures made again from the sources'],
            dryRun: false,
          },
        });
        continue;
      }
      if (line.type !== 'row' || !sheet || line.run !== options.run) continue;
      rows++;
      const rowFields = await fields?.take(line);
      const target = sheet;
      // Bounded: at most 2 × jobs rows being made again at once.
      while (pending.size >= 2 * options.jobs) await Promise.race(pending);
      const task = limit(async () => {
        const made = await remake(line, settingsFor(line.target));
        if (made.identical) identical++;
        if (made.unavailable) unavailable++;
        await target.row({ line, ...(rowFields ? { fields: rowFields } : {}), ...made.pictures }, made.note);
      }).finally(() => pending.delete(task));
      pending.add(task);
    }
    await Promise.all(pending);
  } finally {
    await fields?.close();
  }
  if (!runLine || !sheet) {
    throw new UsageError(`--run ${options.run}: no such run in ${options.ledger}${runs.length ? `; its latest runs are ${runs.join(', ')}` : ' (it holds no runs)'}`);
  }
  await sheet.close([`${rows} rows of run ${options.run}; ${identical} avatars made again identical to what was sent, ${unavailable} rows without pictures.`]);
  return { rows, identical, unavailable };
}

/** Each target's image settings from the run line: `targets: [{target, normalise}]`, or the
 * single-target `normalise` of first-wave ledgers. */
function settingsOf(line: RunLine): (target: string) => NormaliseOptions | undefined {
  const valid = (value: unknown): NormaliseOptions | undefined =>
    typeof value === 'object' && value !== null && typeof (value as { size?: unknown }).size === 'number' ? (value as NormaliseOptions) : undefined;
  const byTarget = new Map<string, NormaliseOptions>();
  const targets = line.options['targets'];
  if (Array.isArray(targets)) {
    for (const entry of targets as { target?: unknown; normalise?: unknown }[]) {
      const settings = valid(entry?.normalise);
      if (typeof entry?.target === 'string' && settings) byTarget.set(entry.target, settings);
    }
  }
  const single = valid(line.options['normalise']);
  return (target) => byTarget.get(target) ?? single;
}

interface Remade {
  readonly pictures: { sourcePreview?: Buffer; avatar?: Buffer };
  readonly note?: string;
  readonly identical?: boolean;
  readonly unavailable?: boolean;
}

async function remake(line: RowLine, settings: NormaliseOptions | undefined): Promise<Remade> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(line.source)) return { pictures: {}, note: 'the photo was a URL: not fetched again', unavailable: true };
  if (!isAbsolute(line.source)) return { pictures: {}, ...(line.status === 'failed' ? {} : { unavailable: true }) };
  const info = await stat(line.source).catch(() => undefined);
  if (!info?.isFile()) return { pictures: {}, note: `the photo is gone: ${line.source}`, unavailable: true };
  if (info.size > MAX_SOURCE_BYTES) return { pictures: {}, note: 'the photo is too large to show again', unavailable: true };
  const bytes = await readFile(line.source);
  const sourcePreview = await sourceThumbnail(bytes, settings?.maxPixels ?? 100_000_000);
  const pictures = sourcePreview ? { sourcePreview } : {};
  if (line.sourceSha256 && createHash('sha256').update(bytes).digest('hex') !== line.sourceSha256) {
    return { pictures, note: 'the photo has changed since this run: shown as it is now, no avatar', unavailable: true };
  }
  if (!line.outputSha256) return { pictures };
  if (!settings) return { pictures, note: "the run's image settings are not in the ledger: avatar not made again", unavailable: true };
  try {
    const avatar = await normalise(bytes, settings);
    const same = avatar.sha256 === line.outputSha256;
    return {
      pictures: { ...pictures, avatar: avatar.jpeg },
      ...(same ? { identical: true } : { note: 'avatar made again from the photo; not byte-identical to what was sent (another sharp version?)' }),
    };
  } catch {
    return { pictures, note: 'the avatar could not be made again', unavailable: true };
  }
}

/**
 * The run's CSV read alongside the ledger: ledger lines come in about CSV order, so records are
 * read up to the row asked for and kept only until their line comes (bounded by FIELDS_LAG).
 */
class FieldsByRow {
  readonly columns: string[];
  readonly #records: AsyncIterator<CsvRecord | CsvProblem>;
  readonly #idColumn: string | undefined;
  readonly #waiting = new Map<number, Record<string, string>>();
  #done = false;

  private constructor(columns: string[], records: AsyncIterator<CsvRecord | CsvProblem>, idColumn: string | undefined) {
    this.columns = columns;
    this.#records = records;
    this.#idColumn = idColumn;
  }

  static async open(run: RunLine): Promise<FieldsByRow | undefined> {
    const csv = run.options['csv'];
    if (typeof csv !== 'string' || csv === '-' || !(await stat(csv).catch(() => undefined))?.isFile()) return undefined;
    try {
      const input = await openCsv(createReadStream(csv), typeof run.options['delimiter'] === 'string' ? { delimiter: run.options['delimiter'] } : {});
      const exclude = ['idColumn', 'imageColumn'].map((key) => run.options[key]).filter((v): v is string => typeof v === 'string');
      const idColumn = typeof run.options['idColumn'] === 'string' && run.options['userTemplate'] === undefined ? run.options['idColumn'] : undefined;
      return new FieldsByRow(displayColumns(input.headers, exclude), input.records[Symbol.asyncIterator](), idColumn);
    } catch {
      return undefined;
    }
  }

  /** The row's cells, unless the CSV has changed since (its id no longer matches the ledger). */
  async take(line: RowLine): Promise<Record<string, string> | undefined> {
    while (!this.#done && !this.#waiting.has(line.row)) {
      const next = await this.#records.next();
      if (next.done) {
        this.#done = true;
        break;
      }
      if ('fields' in next.value) this.#waiting.set(next.value.row, next.value.fields);
      if (next.value.row > line.row) break;
    }
    const fields = this.#waiting.get(line.row);
    this.#waiting.delete(line.row);
    for (const row of this.#waiting.keys()) {
      if (row >= line.row - FIELDS_LAG) break;
      this.#waiting.delete(row);
    }
    if (!fields) return undefined;
    if (this.#idColumn && line.user && (fields[this.#idColumn] ?? '').trim() !== line.user) return undefined;
    return fields;
  }

  async close(): Promise<void> {
    await this.#records.return?.();
  }
}
