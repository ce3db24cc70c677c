import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import { AvatarError, RowError, heals, isAvatarError } from '../errors.js';
import type { NormaliseOptions } from '../image/normalise.js';
import { normalise } from '../image/normalise.js';
import type { CsvInput, CsvProblem, CsvRecord } from '../input/csv.js';
import type { SourceOptions, SourceRef } from '../input/source.js';
import { locate, readSource, statSource } from '../input/source.js';
import { CompactTable } from '../util/compact-table.js';
import type { Ledger } from '../ledger/ledger.js';
import type { RowLine } from '../ledger/lines.js';
import type { Account, Avatar, Target } from '../targets/target.js';
import { capText, MAX_MESSAGE_CHARS } from '../capped-text.js';
import { stripUrlSecrets } from '../url-secrets.js';
import { Lru } from '../util/lru.js';

// The only place that knows the order of the stages. A row's life:
//   user + duplicate check (in CSV order) → locate and stat the source → what the ledger says →
//   resolve on the target → skip if nothing changed → read → normalise → apply → one ledger line.
// Every way out of a row ends in exactly one ledger line, except a fatal error, which ends the
// run instead (the row is simply not done, and the next run picks it up).

export interface RunConfig {
  readonly runId: string;
  readonly csv: CsvInput;
  /** The row's user as the target knows it; throws RowError (missing_value, invalid_user_id). */
  readonly userOf: (fields: Record<string, string>) => string;
  readonly imageColumn: string;
  readonly source: SourceOptions;
  readonly normalise: NormaliseOptions;
  /** settingsKey(normalise): rows done with other settings are redone. */
  readonly settings: string;
  readonly target: Target;
  readonly ledger: Ledger;
  readonly dryRun: boolean;
  readonly force: boolean;
  readonly retryFailed: boolean;
  readonly checksum: boolean;
  readonly overwriteUserChanges: boolean;
  /** Images decoded/encoded at once. */
  readonly jobs: number;
  /** Rows in flight to the target. */
  readonly concurrency: number;
  /** Aborted on Ctrl-C: stop taking rows, finish the ones in flight. */
  readonly signal: AbortSignal;
  readonly redact: (text: string) => string;
  readonly onRow: (line: RowLine) => void;
}

export interface RunResult {
  /** Set when a fatal error ended the run early (exit 3). */
  readonly fatal?: AvatarError;
  readonly interrupted: boolean;
  /** Source images actually read, and their bytes: a nightly run of unchanged rows reads none. */
  readonly imagesRead: number;
  readonly imageBytesRead: number;
}

type RowInput = Omit<RowLine, 'status'>;

export async function run(config: RunConfig): Promise<RunResult> {
  const { target, ledger } = config;
  const cpu = pLimit(config.jobs);
  const net = pLimit(config.concurrency);
  const windowSize = windowFor(config.jobs, config.concurrency);
  const seen = new CompactTable();
  // Identical source bytes in one run are normalised once (a shared placeholder photo); the
  // fingerprint cache lets repeats of the same file skip even the read.
  const avatars = new Lru<string, Promise<Avatar>>(16);
  const digests = new Lru<string, string>(4096);

  let fatal: AvatarError | undefined;
  let imagesRead = 0;
  let imageBytesRead = 0;
  let inFlight = 0;
  let wake: (() => void) | undefined;
  const tasks = new Set<Promise<void>>();

  const emit = async (line: RowLine): Promise<void> => {
    if (!config.dryRun) await ledger.append(line);
    config.onRow(line);
  };

  const fail = (base: RowInput, error: unknown): Promise<void> => {
    const known = isAvatarError(error);
    const code = known ? error.code : 'internal_error';
    // Masked before it is cut (a secret across the cut), cut because it may quote a huge cell.
    const message = capText(stripUrlSecrets(config.redact(error instanceof Error ? error.message : String(error))), MAX_MESSAGE_CHARS);
    const retryable = !known || error.kind !== 'row' || heals(code);
    return emit({ ...base, status: 'failed', error: { code, message, ...(retryable ? { retryable: true } : {}) } });
  };

  const processRow = async (record: CsvRecord, user: string): Promise<void> => {
    const cell = record.fields[config.imageColumn] ?? '';
    // The cell as given until it resolves, so a failed line still says what was asked for.
    const base: RowInput = {
      type: 'row', ts: '', run: config.runId, row: record.row, line: record.line, user: capText(user),
      target: target.id, source: cellText(cell), settings: config.settings,
    };
    const stamp = (line: RowLine): RowLine => ({ ...line, ts: new Date().toISOString() });
    try {
      const ref = await locate(cell, config.source);
      base.source = capText(sourceId(ref));
      const fingerprint = await statSource(ref);
      if (fingerprint) Object.assign(base, { sourceSize: fingerprint.size, sourceMtimeMs: fingerprint.mtimeMs });
      const fpKey = fingerprint && `${base.source}\0${fingerprint.dev}:${fingerprint.ino}:${fingerprint.size}:${fingerprint.mtimeMs}`;

      let bytes: Buffer | undefined;
      const read = async (): Promise<Buffer> => {
        if (bytes) return bytes;
        const loaded = await readSource(ref, config.source, config.signal);
        imagesRead++;
        imageBytesRead += loaded.length;
        bytes = loaded;
        return loaded;
      };
      const digest = async (): Promise<string> => {
        if (base.sourceSha256) return base.sourceSha256;
        const cached = !config.checksum && fpKey ? digests.get(fpKey) : undefined;
        base.sourceSha256 = cached ?? createHash('sha256').update(await read()).digest('hex');
        if (fpKey) digests.set(fpKey, base.sourceSha256);
        return base.sourceSha256;
      };
      // Cheap first (same file, size and mtime, like rclone), content only when those differ.
      const sameFingerprint = (line: RowLine | undefined): boolean => {
        if (!line || line.source !== base.source || line.settings !== config.settings || config.checksum || !fingerprint) return false;
        // A 1 ms modify window (rclone's idea): copy and restore tools keep milliseconds at best,
        // and setting a time goes through a double that can land just under the boundary.
        const same = line.sourceSize === fingerprint.size && line.sourceMtimeMs !== undefined && Math.abs(line.sourceMtimeMs - fingerprint.mtimeMs) < 1;
        if (same && line.sourceSha256) base.sourceSha256 = line.sourceSha256;
        return same;
      };
      const unchanged = async (line: RowLine | undefined): Promise<boolean> => {
        if (!line || line.source !== base.source || line.settings !== config.settings) return false;
        if (sameFingerprint(line)) return true;
        return line.sourceSha256 !== undefined && (await digest()) === line.sourceSha256;
      };

      const found = await ledger.lookup(target.id, base.user);
      // A duplicate row's failure describes that run's CSV, not this user's state.
      const latest = found.latest?.error?.code === 'duplicate_user' ? undefined : found.latest;
      const held = found.held;

      if (!config.force && !config.retryFailed && latest?.status === 'failed' && latest.error && !heals(latest.error.code) && (await unchanged(latest))) {
        return await emit(stamp({ ...base, status: 'failed', reason: 'unchanged_since_failure', error: latest.error }));
      }

      const account: Account = await net(() => target.resolve(user, held));
      const stillOurs = held?.remote !== undefined && account.current === held.remote;
      const skip = (reason?: string): Promise<void> =>
        emit(stamp({
          ...base,
          status: 'skipped',
          ...(reason ? { reason } : {}),
          ...(held && stillOurs ? carried(held) : {}),
        }));

      if (target.features.guardsUserChanges && held && !stillOurs && !config.overwriteUserChanges) {
        return await skip('changed_by_user');
      }
      if (!config.force && stillOurs && sameFingerprint(held)) return await skip();

      // Everything that reads source bytes runs inside a --jobs slot, so only that many sources
      // are ever held in memory, however wide the window of rows in flight.
      const output = await cpu(async () => {
        if (!config.force && stillOurs && (await unchanged(held))) return undefined;
        const sha = await digest();
        let avatar = avatars.get(sha);
        if (!avatar) {
          avatar = normalise(await read(), config.normalise);
          avatars.set(sha, avatar);
          avatar.catch(() => avatars.delete(sha));
        }
        try {
          return await avatar;
        } finally {
          bytes = undefined;
        }
      });
      if (!output) return await skip();
      const produced = { outputSha256: output.sha256, bytes: output.jpeg.length, edge: output.edge, quality: output.quality };

      if (!config.force && stillOurs && output.sha256 === held.outputSha256) return await skip();
      if (config.dryRun) return await emit(stamp({ ...base, ...produced, status: 'ok', reason: 'dry_run' }));

      const applied = await net(() => target.apply(account, output));
      await emit(stamp({
        ...base, ...produced, status: 'ok', remote: applied.remote,
        ...(applied.stamp === undefined ? {} : { stamp: applied.stamp }),
        ...(applied.previous === undefined ? {} : { previous: applied.previous }),
      }));
    } catch (error) {
      if (isAvatarError(error) && error.kind === 'fatal') throw error;
      await fail(stamp({ ...base, status: 'failed' }), error);
    }
  };

  /** A line for a row that fails before any work: nothing about its source is known yet. */
  const early = (record: CsvRecord | CsvProblem, user: string): RowInput => ({
    type: 'row', ts: new Date().toISOString(), run: config.runId, row: record.row, line: record.line, user: capText(user),
    target: target.id, source: 'fields' in record ? cellText(record.fields[config.imageColumn] ?? '') : '', settings: config.settings,
  });

  const admit = (record: CsvRecord | CsvProblem): Promise<void> => {
    if ('error' in record) return fail(early(record, ''), record.error);
    let user: string;
    try {
      user = config.userOf(record.fields);
    } catch (error) {
      return fail(early(record, ''), error);
    }
    // Decided here, in CSV order, so the first row of a user always wins whatever finishes first.
    const canonical = target.features.canonical?.(user) ?? user;
    const kept = seen.get(canonical);
    if (kept !== undefined) {
      return fail(early(record, user), new RowError('duplicate_user', `${user} already appears on row ${kept}; that row is kept and this one ignored`));
    }
    seen.set(canonical, record.row);
    return processRow(record, user);
  };

  try {
    for await (const record of config.csv.records) {
      while (inFlight >= windowSize && !fatal) await new Promise<void>((resolve) => (wake = resolve));
      if (fatal || config.signal.aborted) break;
      inFlight++;
      const task: Promise<void> = admit(record)
        .catch((error: unknown) => {
          if (isAvatarError(error) && error.kind === 'fatal') fatal ??= error;
          else throw error;
        })
        .finally(() => {
          inFlight--;
          tasks.delete(task);
          const resume = wake;
          wake = undefined;
          resume?.();
        });
      tasks.add(task);
    }
  } finally {
    await Promise.all(tasks);
  }
  return { ...(fatal ? { fatal } : {}), interrupted: config.signal.aborted && !fatal, imagesRead, imageBytesRead };
}

/**
 * Rows admitted but not finished: the CSV stream stays paused beyond this, so memory does not
 * depend on the CSV's length. Wider than the work slots because most of a row's life is small
 * file-system and ledger calls (a nightly run of skips is nothing else); source bytes are only
 * held inside the --jobs slots, so a wide window costs a few hundred bytes a row.
 */
export function windowFor(jobs: number, concurrency: number): number {
  return Math.max(64, 2 * (jobs + concurrency));
}

/** How the ledger names a source. A URL may carry credentials or a signed query: the ledger gets
 * the redacted form plus a digest of the full URL, so a changed query still reads as a change. */
function sourceId(ref: SourceRef): string {
  if (ref.kind === 'file') return ref.path;
  if (ref.display === ref.url.href) return ref.display;
  return `${ref.display}#${createHash('sha256').update(ref.url.href).digest('hex').slice(0, 16)}`;
}

/** An image cell as a ledger field before it resolved to a source (it may never: a refused URL
 * still holds its credentials and signature), capped in length. */
function cellText(cell: string): string {
  return capText(stripUrlSecrets(cell));
}

/** What a skipped row copies forward from the line that recorded the target's state. */
function carried(held: RowLine): Partial<RowLine> {
  const keys = ['outputSha256', 'bytes', 'edge', 'quality', 'remote', 'stamp'] as const;
  const out: Partial<Record<(typeof keys)[number], unknown>> = {};
  for (const key of keys) if (held[key] !== undefined) out[key] = held[key];
  return out as Partial<RowLine>;
}
