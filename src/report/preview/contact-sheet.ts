import { capText } from '../../capped-text.js';
import { stripUrlSecrets } from '../../url-secrets.js';
import { createHash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { access, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { UsageError } from '../../errors.js';
import type { RowEvent, RowSink } from '../events.js';
import { head, rowLine, tail, type CardData, type SheetMeta } from './page.js';
import { avatarThumbnail } from './thumbnail.js';

// `--preview FILE.html`: the contact sheet, streamed. The head is written when the run starts, one
// row as each row finishes, the tail (the script that counts, filters and sorts) at the end, so
// nothing grows with the number of rows but the files on disk. Pictures go to FILE_files/ as small JPEGs named after
// their content, so a photo shared by many rows is written once.

export interface ContactSheetOptions {
  /** The .html file; its pictures go to the sibling folder `<name>_files/`. */
  readonly file: string;
  readonly meta: SheetMeta;
  /** CSV columns shown on every card (besides the user). */
  readonly columns: readonly string[];
  /** Targets of the run (default 1): cards name their target only when there are several. */
  readonly targets?: number;
}

/** Thumbnails this writer made in an earlier run: replaced, never anything else in the folder. */
const OWN_FILE = /^[sa]-[0-9a-f]{24}\.jpg$/;

/** The sibling folder, as browsers name it when saving a page ("page_files"). */
export function filesDirOf(file: string): string {
  return join(dirname(file), `${basename(file, extname(file))}_files`);
}

/** Throws UsageError unless FILE can be a contact sheet (the check --preview runs up front). */
export function checkSheetPath(file: string, option = '--preview'): void {
  if (!/\.html?$/i.test(file)) throw new UsageError(`${option} expects a file name ending in .html, got "${file}"`);
}

export class ContactSheet implements RowSink {
  readonly file: string;
  readonly filesDir: string;
  readonly #columns: readonly string[];
  readonly #dryRun: boolean;
  readonly #targets: number;
  readonly #stream: WriteStream;
  /** Relative URL prefix of the folder (its name may hold spaces or #). */
  readonly #prefix: string;
  #failure: Error | undefined;
  #rows = 0;

  private constructor(options: ContactSheetOptions, stream: WriteStream, filesDir: string) {
    this.file = options.file;
    this.filesDir = filesDir;
    this.#columns = options.columns;
    this.#dryRun = options.meta.dryRun;
    this.#targets = options.targets ?? 1;
    this.#stream = stream;
    this.#prefix = `${encodeURIComponent(basename(filesDir))}/`;
    stream.on('error', (error) => (this.#failure ??= error));
  }

  static async open(options: ContactSheetOptions): Promise<ContactSheet> {
    checkSheetPath(options.file);
    const filesDir = filesDirOf(options.file);
    await mkdir(filesDir, { recursive: true });
    // An earlier sheet's pictures would otherwise pile up next to this one's.
    for (const name of await readdir(filesDir)) if (OWN_FILE.test(name)) await rm(join(filesDir, name), { force: true });
    const stream = createWriteStream(options.file);
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
    const sheet = new ContactSheet(options, stream, filesDir);
    await sheet.#write(head(options.meta));
    return sheet;
  }

  /** Rows written so far. */
  get rows(): number {
    return this.#rows;
  }

  /** One card. `note` says how its pictures were made when not by this run (ledger preview). */
  async row(event: RowEvent, note?: string): Promise<void> {
    const { line } = event;
    const source = await this.#picture('s', line.sourceSha256, event.sourcePreview && (async () => event.sourcePreview));
    const avatar = await this.#picture('a', line.outputSha256, event.avatar && (() => avatarThumbnail(event.avatar!)));
    const data: CardData = {
      row: line.row,
      ...(line.line !== undefined && line.line !== line.row + 1 ? { line: line.line } : {}),
      user: line.user,
      target: line.target,
      status: line.status,
      label: this.#label(event),
      ...(line.error ? { code: line.error.code, message: line.error.message } : {}),
      ...(note ? { note } : {}),
      // Never a URL's credentials or signature on a page meant for sharing; huge cells capped.
      values: this.#columns.map((name) => capText(stripUrlSecrets(event.fields?.[name] ?? ''))),
      source: source ? { src: source } : { none: line.status === 'skipped' ? 'not read (unchanged)' : 'no picture' },
      avatar: avatar ? { src: avatar } : { none: line.status === 'failed' ? 'not made' : line.status === 'skipped' ? 'unchanged' : 'no picture' },
    };
    await this.#write(rowLine(data));
    this.#rows++;
  }

  /** Writes the tail and closes the file. `notes` are shown at the bottom (interrupted, aborted …). */
  async close(notes: readonly string[] = []): Promise<void> {
    await this.#write(tail({ dryRun: this.#dryRun, columns: this.#columns, targets: this.#targets, notes }));
    await new Promise<void>((resolve, reject) => {
      this.#stream.end(() => (this.#failure ? reject(this.#failure) : resolve()));
    });
  }

  #label(event: RowEvent): string {
    const { line } = event;
    if (line.status === 'ok') return line.reason === 'dry_run' || this.#dryRun ? 'would send' : 'sent';
    if (line.status === 'skipped') return `skipped (${(line.reason ?? 'unchanged').replace(/_/g, ' ')})`;
    return this.#dryRun ? 'would fail' : 'failed';
  }

  /**
   * The thumbnail's relative URL: made from `make` when the row has the bytes, else one this run
   * already wrote for the same content (a repeated photo, a row deduplicated by the pipeline).
   */
  async #picture(kind: 's' | 'a', sha: string | undefined, make: (() => Promise<Buffer | undefined>) | undefined): Promise<string | undefined> {
    if (make) {
      const jpeg = await make();
      if (!jpeg) return undefined;
      const name = `${kind}-${(sha ?? createHash('sha256').update(jpeg).digest('hex')).slice(0, 24)}.jpg`;
      // 'wx': a picture another row wrote (or is writing) already is this one.
      await writeFile(join(this.filesDir, name), jpeg, { flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      });
      return this.#prefix + name;
    }
    if (!sha) return undefined;
    const name = `${kind}-${sha.slice(0, 24)}.jpg`;
    return (await access(join(this.filesDir, name)).then(() => true, () => false)) ? this.#prefix + name : undefined;
  }

  async #write(text: string): Promise<void> {
    if (this.#failure) throw this.#failure;
    if (!this.#stream.write(text)) {
      await new Promise<void>((resolve, reject) => {
        const onError = (error: Error): void => reject(error);
        this.#stream.once('error', onError);
        this.#stream.once('drain', () => {
          this.#stream.off('error', onError);
          resolve();
        });
      });
    }
  }
}
