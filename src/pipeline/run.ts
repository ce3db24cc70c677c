import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import type { LimitFunction } from 'p-limit';
import { capText, MAX_MESSAGE_CHARS } from '../capped-text.js';
import { AvatarError, FatalError, RowError, heals, isAvatarError } from '../errors.js';
import type { NormaliseOptions } from '../image/normalise.js';
import { normalise } from '../image/normalise.js';
import type { TableInput, TableProblem as CsvProblem, TableRecord as CsvRecord } from '../input/table.js';
import type { Fingerprint, SourceOptions, SourceRef } from '../input/source.js';
import { aheadPath, locate, locateNow, readSource, statSource } from '../input/source.js';
import { StatsAhead, stopUsingStatsAhead, useStatsAhead } from '../util/stats-ahead.js';
import { ReadAhead, type AheadFile } from './look-ahead.js';
import { CompactTable } from '../util/compact-table.js';
import { NarrowColumn } from '../util/narrow-column.js';
import type { Ledger } from '../ledger/ledger.js';
import { isProblem, type HeldRowLine, type IntentLine, type RowLine } from '../ledger/lines.js';
import { lastRunProblems, problemKey } from '../ledger/row-problems.js';
import { Lru } from '../util/lru.js';
import { isoNow } from '../util/iso-now.js';
import { ReadBuffers } from '../util/read-buffers.js';
import type { Account, Avatar, Target } from '../targets/target.js';
import { stripUrlSecrets } from '../url-secrets.js';
import type { RowEvent, RowReporter } from '../report/events.js';
import { inShard } from '../input/shard.js';
import type { Shard } from '../input/shard.js';
import { decide } from './decide.js';
import { removalLanded } from '../lifecycle/removal-intent.js';
import { describeVerdict, FailureWatch, fileNotFoundHint } from './misconfiguration.js';
import type { HaltRule, Verdict } from './misconfiguration.js';
import type { Decision, RowFacts, SourceMatch } from './decide.js';

// The only place that knows the order of the stages. A row's life, for each target it goes to:
//   user + duplicate check (in CSV order) → locate and stat the source (once) → what the ledger
//   says → decide (pure, decide.ts): resolve on the target, hash the source, make the avatar only
//   when the decision needs them → read and normalise (once per row and distinct image settings,
//   in one --jobs slot) → apply → one ledger line.
// Every way out of a row ends in exactly one ledger line per target, except a fatal error on a
// target, which stops that target (its rows are simply not done, and the next run picks them up);
// the other targets go on. An interrupt (SIGINT/SIGTERM) stops taking rows: requests already sent
// finish and are recorded, work not yet sent is dropped without a line (the next run does it):
// an interrupt is not a row's failure.

/** One destination of the run: its own window, image settings, ledger and user template. */
export interface RunTarget {
  readonly target: Target;
  /** Targets given the same file share one Ledger. */
  readonly ledger: Ledger;
  /** The row's user as this target knows it; throws RowError (missing_value, invalid_user_id). */
  readonly userOf: (fields: Record<string, string>) => string;
  readonly normalise: NormaliseOptions;
  /** settingsKey(normalise): rows done with other settings are redone. */
  readonly settings: string;
  /** Rows in flight to this target. */
  readonly concurrency: number;
  readonly overwriteUserChanges: boolean;
  /** --only-new for this target. */
  readonly onlyNew?: boolean;
  /** --replace-existing: first contact replaces an avatar the user already has. */
  readonly replaceExisting: boolean;
  /** When to halt this target as misconfigured (ratio 0: never). */
  readonly halt: HaltRule;
}

export interface RunConfig {
  readonly runId: string;
  readonly csv: TableInput;
  /** The row's image cell (a column, or --image-template); throws RowError (missing_value). */
  readonly imageOf: (fields: Record<string, string>) => string;
  readonly source: SourceOptions;
  readonly targets: readonly RunTarget[];
  readonly dryRun: boolean;
  readonly force: boolean;
  readonly retryFailed: boolean;
  readonly checksum: boolean;
  /** --require-photo: an empty image cell fails (missing_value) instead of `no_photo`. */
  readonly requirePhoto: boolean;
  /** Images decoded/encoded at once, across all targets. */
  readonly jobs: number;
  /** `--shard`: rows of other shards' users are dropped after the id columns: no image, no line. */
  readonly shard?: Shard;
  /** Aborted on SIGINT/SIGTERM: stop taking rows; requests already sent finish, work not yet
   * sent is dropped (no line). */
  readonly signal: AbortSignal;
  readonly redact: (text: string) => string;
  /** Each line as written, with the user's latest line before this run (what tells a carried-over
   * failure from a new one: report/novelty.ts). */
  readonly onRow: (line: RowLine, previous: RowLine | undefined) => void;
  /** The reports (contact sheet, failed-rows file, event log): each finished row, with what the
   * row knew (its CSV cells, a thumbnail of its source, its avatar). */
  readonly report?: RowReporter;
}

export interface RunResult {
  /** The fatal error that stopped each target that stopped (by `Target.id`). */
  readonly fatal: ReadonlyMap<string, AvatarError>;
  readonly interrupted: boolean;
  /** Rows (per target) admitted but dropped by the interrupt before any line was written. */
  readonly cutOff: number;
  /** Source images actually read, and their bytes: a nightly run of unchanged rows reads none,
   * and a row going to several targets is read once. */
  readonly imagesRead: number;
  readonly imageBytesRead: number;
}

type RowInput = Omit<RowLine, 'status'>;
/** What a row learnt on its way, for the reports. */
type RowExtras = { -readonly [K in Exclude<keyof RowEvent, 'line'>]?: RowEvent[K] };

/** A target as the run drives it. */
interface Lane extends RunTarget {
  readonly net: LimitFunction;
  /** Rows of the run by user, for users the ledger does not know (see firstRow). */
  readonly seen: CompactTable;
  /** Rows of the run by the ledger's key id, for users it knows. */
  readonly seenKnown: NarrowColumn;
  /** What `claim` may ask: the row on which the run met a user (see metRow). */
  readonly metBefore: (user: string) => number | undefined;
  readonly watch: FailureWatch;
  fatal?: AvatarError;
  /** Set when the watch halted the lane: the hint is added once the rows in flight are done. */
  verdict?: Verdict;
  /** The row problems of the last run on this target, read when this run meets its first one. */
  problems?: Promise<ReadonlyMap<string, RowLine>>;
}

/** One (row, target) pair in flight. */
interface Part {
  readonly lane: Lane;
  readonly user: string;
  readonly base: RowInput;
  readonly facts: { -readonly [K in keyof RowFacts]: RowFacts[K] };
  account?: Account;
  held?: HeldRowLine;
  latest?: RowLine;
  /** A pending intent (a write an earlier run began and never recorded). */
  intent?: IntentLine;
  /** A pending removal (--remove-missing) an earlier run began and never recorded: the user left
   * and is back. Never taken for an import's write. */
  removal?: IntentLine;
  decision?: Decision;
}

export async function run(config: RunConfig): Promise<RunResult> {
  const cpu = pLimit(config.jobs);
  const lanes: Lane[] = config.targets.map((t) => {
    const lane: Lane = { ...t, net: pLimit(t.concurrency), seen: new CompactTable(), seenKnown: new NarrowColumn(), metBefore: (user) => metRow(lane, user), watch: new FailureWatch(t.halt) };
    return lane;
  });
  const windowSize = windowFor(config.jobs, lanes.reduce((sum, lane) => sum + lane.concurrency, 0));
  // Identical source bytes in one run are normalised once per settings (a shared placeholder
  // photo); the fingerprint cache lets repeats of the same file skip even the read.
  const avatars = new Lru<string, Promise<Avatar>>(16);
  const digests = new Lru<string, string>(4096);
  // Sources are read into reused buffers: fresh ones cost a full garbage collection every few dozen
  // photos (util/read-buffers.ts). About --jobs are read and held at once.
  const sourceBuffers = new ReadBuffers(config.jobs + 1);

  let imagesRead = 0;
  let imageBytesRead = 0;
  let inFlight = 0;
  let wake: (() => void) | undefined;
  const tasks = new Set<Promise<void>>();
  const live = (): Lane[] => lanes.filter((lane) => !lane.fatal);
  const stamp = (line: RowLine): RowLine => ({ ...line, ts: isoNow() });

  let cutOff = 0;
  const stopped = (): boolean => config.signal.aborted;
  const emit = async (lane: Lane, line: RowLine, extras: RowExtras = {}): Promise<void> => {
    if (!config.dryRun) await lane.ledger.append(line);
    config.onRow(line, extras.previous);
    await config.report?.row({ line, ...extras });
    const verdict = lane.watch.observe({ status: line.status, ...(line.error ? { code: line.error.code } : {}), cell: line.source, user: line.user });
    if (verdict) halt(lane, verdict);
  };
  /** Most first rows failed one way: stop taking rows for this target (the hint comes at the end). */
  const halt = (lane: Lane, verdict: Verdict): void => {
    if (lane.fatal) return;
    lane.verdict = verdict;
    lane.fatal = new FatalError('misconfigured', describeVerdict(verdict));
  };

  /** A row error becomes the row's line; a fatal one stops the target and writes nothing; work cut
   * off by an interrupt writes nothing either (the next run does the row). */
  const settle = async (lane: Lane, base: RowInput, error: unknown, extras: RowExtras = {}): Promise<void> => {
    if (isAvatarError(error) && error.kind === 'fatal') {
      lane.fatal ??= error;
      return;
    }
    if (error instanceof CutOff || (stopped() && !isAvatarError(error))) {
      if (stopped()) cutOff++;
      return;
    }
    const known = isAvatarError(error);
    const code = known ? error.code : 'internal_error';
    // Masked before it is cut (a secret across the cut), cut because it may quote a huge cell.
    const message = capText(stripUrlSecrets(config.redact(error instanceof Error ? error.message : String(error))), MAX_MESSAGE_CHARS);
    const retryable = !known || error.kind !== 'row' || heals(code);
    const line = stamp({ ...base, status: 'failed', error: { code, message, ...(retryable ? { retryable: true } : {}) } });
    // A row that failed before the ledger was asked about it: the summary, the exit code and the
    // reports still need to know how it ended last time (a failure carried over is not a new one).
    // A row problem (no user, a second row) is not in any user's history: it is looked for among
    // the last run's row problems instead.
    if (isProblem(line)) {
      lane.problems ??= lastRunProblems(lane.ledger.path, lane.target.id, lane.ledger.sizeAtOpen);
      const previous = (await lane.problems).get(problemKey(line));
      if (previous) extras.previous = previous;
      else delete extras.previous;
    } else if (!extras.previous && base.user) {
      const previous = (await lane.ledger.lookup(lane.target.id, base.user)).latest;
      if (previous) extras.previous = previous;
    }
    await emit(lane, line, extras);
  };

  const processRow = async (record: CsvRecord, parts: Part[]): Promise<void> => {
    // For the reports: what every target's line of this row shares, and what is its own.
    const shared: RowExtras = { fields: record.fields };
    const extras = new Map(parts.map((part) => [part, { ...shared } as RowExtras]));
    const extrasOf = (part: Part): RowExtras => ({ ...shared, ...extras.get(part) });
    // No photo is not a failure (unless --require-photo): HR exports have people without one, and a
    // nightly job must not fail for them forever. Nothing to look up or read.
    let cell: string | undefined;
    try {
      cell = config.imageOf(record.fields);
    } catch {
      cell = undefined; // an --image-template that cannot be filled fails below, as before
    }
    if (cell !== undefined && cell.trim() === '' && !config.requirePhoto) {
      await Promise.all(parts.map((part) => emit(part.lane, stamp({ ...part.base, status: 'skipped', reason: 'no_photo' }), extrasOf(part))));
      return;
    }
    let ref: SourceRef;
    let fingerprint: Fingerprint | undefined;
    try {
      ref = await locate(config.imageOf(record.fields), config.source);
      fingerprint = await statSource(ref);
    } catch (error) {
      await Promise.all(parts.map((part) => settle(part.lane, part.base, error, extrasOf(part))));
      return;
    }
    const source = capText(sourceId(ref));
    for (const part of parts) {
      part.base.source = source;
      if (fingerprint) Object.assign(part.base, { sourceSize: fingerprint.size, sourceMtimeMs: fingerprint.mtimeMs });
    }
    const fpKey = fingerprint && `${source}\0${fingerprint.dev}:${fingerprint.ino}:${fingerprint.size}:${fingerprint.mtimeMs}`;

    // The row's source, read at most once whatever the number of targets; held only until the
    // row's avatars are made.
    let bytes: Promise<Buffer> | undefined;
    let loadedBytes: Buffer | undefined;
    let sourceSha256: string | undefined;
    const read = (): Promise<Buffer> =>
      (bytes ??= readSource(ref, config.source, config.signal, sourceBuffers).then((loaded) => {
        loadedBytes = loaded;
        imagesRead++;
        imageBytesRead += loaded.length;
        // Counted once for the row, on its first target's line.
        extras.get(parts[0]!)!.bytesRead = loaded.length;
        return loaded;
      }));
    const digest = async (): Promise<string> => {
      if (sourceSha256) return sourceSha256;
      const cached = !config.checksum && fpKey ? digests.get(fpKey) : undefined;
      sourceSha256 = cached ?? createHash('sha256').update(await read()).digest('hex');
      if (fpKey) digests.set(fpKey, sourceSha256);
      return sourceSha256;
    };
    // Cheap first (same file, size and mtime, like rclone), content only when those differ.
    const match = (line: SourceFields | undefined, settings: string): SourceMatch => {
      if (!line || line.source !== source || line.settings !== settings) return 'different';
      if (!config.checksum && fingerprint && line.sourceSize === fingerprint.size && line.sourceMtimeMs !== undefined &&
        // A 1 ms modify window (rclone's idea): copy and restore tools keep milliseconds at best,
        // and setting a time goes through a double that can land just under the boundary.
        Math.abs(line.sourceMtimeMs - fingerprint.mtimeMs) < 1) {
        if (line.sourceSha256) sourceSha256 ??= line.sourceSha256;
        return 'same';
      }
      if (line.sourceSha256 === undefined) return 'different';
      if (sourceSha256 === undefined) return 'unknown';
      return sourceSha256 === line.sourceSha256 ? 'same' : 'different';
    };
    // 1. Per target, concurrently: what the ledger says, then decide() until it needs the source's
    //    bytes (its hash once the account is known, or the new avatar) or has made up its mind.
    const gather = async (part: Part): Promise<void> => {
      const { lane } = part;
      const found = await lane.ledger.lookup(lane.target.id, part.base.user);
      if (found.latest) extras.get(part)!.previous = found.latest;
      // A duplicate row's failure describes that run's CSV, not this user's state.
      part.latest = found.latest?.error?.code === 'duplicate_user' ? undefined : found.latest;
      part.held = found.held;
      if (found.intent?.removes) part.removal = found.intent;
      else part.intent = found.intent;
      const { latest, held } = part;
      const facts = part.facts;
      if (latest) facts.latest = { status: latest.status, ...(latest.error ? { error: latest.error } : {}), heals: latest.error ? heals(latest.error.code) : true };
      if (held) facts.held = held;
      for (;;) {
        const decision = decideNow(part);
        if (decision.action !== 'need' || decision.fact === 'output' || (decision.fact === 'content' && part.account)) return void (part.decision = decision);
        if (decision.fact === 'account') {
          // A target that batches lookups gets every row of the window at once (its pacer still
          // bounds the requests); the others, one per --concurrency slot. Not yet asked when an
          // interrupt or a halt came: dropped (no line).
          const lookup = () => {
            if (stopped() || lane.fatal) throw new CutOff();
            return lane.target.resolve(part.user, held);
          };
          part.account = await (lane.target.features.batchesLookups ? lookup() : lane.net(lookup));
        }
        // Only a failed row's carry-over check hashes here (rarely): inside a --jobs slot, so only
        // that many sources are read at once.
        else await cpu(digest);
      }
    };
    // The facts are filled in place as they are learnt (a nightly run asks this 100 000 times).
    const decideNow = (part: Part): Decision => {
      const facts = part.facts;
      facts.latestSource = match(part.latest, part.lane.settings);
      facts.heldSource = match(part.held, part.lane.settings);
      if (part.account) {
        facts.account = part.account;
        const { removal } = part;
        // The removal landed (the target shows what it named): the tool holds nothing of theirs
        // any more, as after a `removed` line; the user comes back as new.
        if (removal && part.held && removalLanded(removal, part.account.current, part.lane.target)) {
          part.held = undefined;
          delete facts.held;
          facts.heldSource = 'different';
        }
        const { intent } = part;
        if (intent) {
          const { current } = part.account;
          const same = part.lane.target.features.isIntended ?? ((a: string, b: string) => a === b);
          facts.intent = { landed: current !== undefined && intent.remote !== undefined && same(current, intent.remote), outputSha256: intent.outputSha256 };
          facts.intentSource = match(intent, part.lane.settings);
        }
      }
      return decide(facts);
    };
    const alive = (await Promise.all(parts.map((part) => gather(part).then(() => part, (error: unknown) => settle(part.lane, part.base, error, extrasOf(part)).then(() => undefined)))))
      .filter((part): part is Part => part !== undefined);

    // 2. One --jobs slot for the row: the source read once, hashed once, normalised once per
    //    distinct image settings, whatever the number of targets wanting it.
    const outputs = new Map<Part, Avatar | { error: unknown }>();
    const wanting = alive.filter((part) => part.decision!.action === 'write' || part.decision!.action === 'need');
    if (wanting.length > 0) {
      const made = new Map<string, Promise<Avatar>>();
      const avatarFor = (lane: Lane): Promise<Avatar> => {
        let pending = made.get(lane.settings);
        if (!pending) {
          pending = digest().then((sha) => {
            const key = `${sha}\0${lane.settings}`;
            let avatar = avatars.get(key);
            if (!avatar) {
              avatar = read().then((buffer) => normalise(buffer, lane.normalise));
              avatars.set(key, avatar);
              avatar.catch(() => avatars.delete(key));
            }
            return avatar;
          });
          made.set(lane.settings, pending);
        }
        return pending;
      };
      await cpu(async () => {
        if (stopped()) return void wanting.forEach((part) => outputs.set(part, { error: new CutOff() }));
        for (const part of wanting) {
          // A fatal error while reading (a refused --url-auth credential) is the same for every
          // row and target: rows that were waiting for a slot do not start, so one bad key costs
          // one request, not one per row in flight.
          if (part.lane.fatal) {
            outputs.set(part, { error: part.lane.fatal });
            continue;
          }
          try {
            for (;;) {
              const decision = (part.decision = decideNow(part));
              if (decision.action === 'need' && decision.fact === 'content') await digest();
              else if (decision.action === 'need' || (decision.action === 'write' && part.facts.outputSha256 === undefined)) {
                const avatar = await avatarFor(part.lane);
                outputs.set(part, avatar);
                part.facts.outputSha256 = avatar.sha256;
              } else break;
            }
          } catch (error) {
            // Recorded before the slot goes to the next row (settle() would be too late).
            if (isAvatarError(error) && error.kind === 'fatal') for (const lane of lanes) lane.fatal ??= error;
            outputs.set(part, { error });
          }
        }
        // The contact sheet's thumbnail is made here, while the bytes are held anyway, so no
        // report keeps a whole photo (a source that fails to normalise is still shown).
        if (bytes && config.report?.wantsSourcePreview) {
          const preview = await bytes.then((buffer) => config.report!.sourcePreview(buffer), () => undefined);
          if (preview) shared.sourcePreview = preview;
        }
      });
    }
    // Everything that used the bytes (hash, sharp, preview) has been awaited: the buffer is free
    // for the next row's read.
    bytes = undefined;
    if (loadedBytes) sourceBuffers.give(loadedBytes);

    // 3. Per target: set the avatar where the decision says so; one line each.
    await Promise.all(alive.map(async (part) => {
      const { lane } = part;
      const base = { ...part.base, ...(sourceSha256 ? { sourceSha256 } : {}) };
      const more = extrasOf(part);
      try {
        const output = outputs.get(part);
        if (output && 'error' in output) throw output.error;
        if (output) more.avatar = output.jpeg;
        const decision = part.decision!;
        switch (decision.action) {
          case 'carry-failure':
          case 'protect':
          case 'skip':
            return await emit(lane, recordOnly(decision, base, part), more);
          case 'need':
            throw new Error(`decide() still needs ${decision.fact} after every fact was gathered`);
          case 'write': {
            const produced = { outputSha256: output!.sha256, bytes: output!.jpeg.length, edge: output!.edge, quality: output!.quality };
            if (config.dryRun) return await emit(lane, stamp({ ...base, ...produced, status: 'ok', reason: 'dry_run' }), more);
            // The intent line is on disk before the target changes (the target awaits `intend`):
            // if the process dies before the row line, the next run knows the write as its own.
            const intend = (remote: string | undefined): Promise<void> =>
              lane.ledger.append({ ...base, ...produced, type: 'intent', ts: isoNow(), ...(remote === undefined ? {} : { remote }) });
            // An upload of these very bytes an interrupted run made and never set is set instead.
            const { intent } = part;
            const reuse = lane.target.features.reusesUploads && intent?.remote !== undefined && intent.outputSha256 === output!.sha256 && !part.facts.intent?.landed ? intent.remote : undefined;
            const applied = await lane.net(() => {
              // Not yet sent: an interrupt or a halt drops it; once sent, it finishes and is recorded.
              if (stopped() || lane.fatal) throw new CutOff();
              return lane.target.apply(part.account!, output!, { intend, ...(reuse === undefined ? {} : { reuse }) });
            });
            return await emit(lane, stamp({
              ...base, ...produced, status: 'ok', remote: applied.remote,
              ...(applied.stamp === undefined ? {} : { stamp: applied.stamp }),
              ...(applied.previous === undefined ? {} : { previous: applied.previous }),
              ...(applied.replaced === undefined ? {} : { replaced: applied.replaced }),
            }), more);
          }
        }
      } catch (error) {
        await settle(lane, base, error, more);
      }
    }));
  };

  // The fast path: a nightly run is mostly rows whose every target decides, from what is known
  // without waiting (the source's lstat, the ledger's lines read back synchronously, the target's
  // own answer where it has one without waiting: dir's stat), to only record a line (skip,
  // protect, carry a failure). Such a row costs no promise and holds no window slot while its
  // line goes to disk: it sends nothing, so nothing waits on that line, and a kill that loses it
  // loses nothing (the next run decides the same again). Anything else (a refusal, a missing file,
  // a decision that needs the network, the bytes or a write) returns 'slow' before any side
  // effect, and processRow does the row from the start.
  const writeFailure = (): { readonly error: unknown } | undefined => {
    for (const lane of lanes) {
      const failed = lane.ledger.writeFailure;
      if (failed) return failed;
    }
    return undefined;
  };
  const fastPath = (record: CsvRecord, parts: Part[]): 'slow' | 'done' | Promise<void> => {
    if (stopped()) return 'slow';
    let cell: string;
    try {
      cell = config.imageOf(record.fields);
    } catch {
      return 'slow';
    }
    const decided: { part: Part; line: RowLine; previous?: RowLine | undefined }[] = [];
    if (cell.trim() === '') {
      if (config.requirePhoto) return 'slow';
      for (const part of parts) decided.push({ part, line: { ...part.base, status: 'skipped', reason: 'no_photo', ts: isoNow() } });
    } else {
      let ref: SourceRef | undefined;
      try {
        ref = locateNow(cell, config.source);
      } catch {
        ref = undefined;
      }
      if (ref?.kind !== 'file' || !ref.fingerprint) return 'slow';
      const { fingerprint } = ref;
      const source = capText(ref.path);
      let sourceSha256: string | undefined;
      // processRow's match(), for what is known without reading: a size or mtime that differs
      // where the line has a hash ('unknown') leads to a decision that needs the bytes (slow).
      const match = (line: SourceFields | undefined, settings: string): SourceMatch => {
        if (!line || line.source !== source || line.settings !== settings) return 'different';
        if (!config.checksum && line.sourceSize === fingerprint.size && line.sourceMtimeMs !== undefined && Math.abs(line.sourceMtimeMs - fingerprint.mtimeMs) < 1) {
          if (line.sourceSha256) sourceSha256 ??= line.sourceSha256;
          return 'same';
        }
        if (line.sourceSha256 === undefined) return 'different';
        if (sourceSha256 === undefined) return 'unknown';
        return sourceSha256 === line.sourceSha256 ? 'same' : 'different';
      };
      const chosen: { part: Part; decision: Extract<Decision, { action: 'carry-failure' | 'protect' | 'skip' }>; found: { held?: HeldRowLine | undefined; intent?: IntentLine | undefined; account?: Account | undefined }; previous?: RowLine | undefined }[] = [];
      for (const part of parts) {
        const { lane } = part;
        if (lane.fatal) return 'slow';
        let found;
        try {
          found = lane.ledger.lookupNow(lane.target.id, part.base.user);
        } catch {
          return 'slow';
        }
        // A duplicate row's failure describes that run's CSV, not this user's state.
        const latest = found.latest?.error?.code === 'duplicate_user' ? undefined : found.latest;
        const { held, intent } = found;
        // A pending removal (--remove-missing) is rare and the slow path's to judge.
        if (intent?.removes) return 'slow';
        const facts: { -readonly [K in keyof RowFacts]: RowFacts[K] } = { ...part.facts };
        if (latest) facts.latest = { status: latest.status, error: latest.error, heals: latest.error ? heals(latest.error.code) : true };
        if (held) facts.held = held;
        let account: Account | undefined;
        for (;;) {
          facts.latestSource = match(latest, lane.settings);
          facts.heldSource = match(held, lane.settings);
          if (account) {
            facts.account = account;
            if (intent) {
              const { current } = account;
              const same = lane.target.features.isIntended ?? ((a: string, b: string) => a === b);
              facts.intent = { landed: current !== undefined && intent.remote !== undefined && same(current, intent.remote), outputSha256: intent.outputSha256 };
              facts.intentSource = match(intent, lane.settings);
            }
          }
          const decision = decide(facts);
          if (decision.action === 'need' && decision.fact === 'account' && !account) {
            try {
              account = lane.target.features.resolveNow?.(part.user, held);
            } catch {
              return 'slow';
            }
            if (account === undefined) return 'slow';
            continue;
          }
          if (decision.action === 'need' || decision.action === 'write') return 'slow';
          chosen.push({ part, decision, found: { held, intent, account }, previous: found.latest });
          break;
        }
      }
      // Every target decided: from here on, as processRow would have recorded it.
      for (const { part, decision, found, previous } of chosen) {
        // processRow's base (the resolved source and its fingerprint, the hash when known), built
        // in one object: the same keys in the same order.
        const base: RowInput = part.base;
        base.source = source;
        base.sourceSize = fingerprint.size;
        base.sourceMtimeMs = fingerprint.mtimeMs;
        if (sourceSha256) base.sourceSha256 = sourceSha256;
        decided.push({ part, line: recordOnly(decision, base, found), previous });
      }
    }
    let wait: Promise<unknown>[] | undefined;
    for (const { part: { lane }, line, previous } of decided) {
      if (!config.dryRun) {
        lane.ledger.enqueue(line, previous);
        // Lines pile up only while the disk is slower than the rows: then wait, so memory stays flat.
        if (lane.ledger.backlog > MAX_UNWRITTEN_SKIPS) (wait ??= []).push(lane.ledger.drained());
      }
      config.onRow(line, previous);
      const reported = config.report?.row({ line, fields: record.fields, ...(previous ? { previous } : {}) });
      if (reported) (wait ??= []).push(reported);
      const verdict = lane.watch.observe({ status: line.status, ...(line.error ? { code: line.error.code } : {}), cell: line.source, user: line.user });
      if (verdict) halt(lane, verdict);
    }
    return wait ? Promise.all(wait).then(() => undefined) : 'done';
  };

  /** The image cell for a ledger line, or empty when it cannot be built (the row fails for that). */
  const imageOrEmpty = (fields: Record<string, string>): string => {
    try {
      return config.imageOf(fields);
    } catch {
      return '';
    }
  };

  /** A line for a row that fails before any work: nothing about its source is known yet. */
  const early = (lane: Lane, record: CsvRecord | CsvProblem, user: string): RowInput => ({
    type: 'row', ts: isoNow(), run: config.runId, row: record.row, line: record.line, user: capText(user),
    target: lane.target.id, source: 'fields' in record ? cellText(imageOrEmpty(record.fields)) : '', settings: lane.settings,
  });

  /** Undefined: the row is done (the fast path recorded it without waiting). */
  const admit = (record: CsvRecord | CsvProblem): Promise<unknown> | undefined => {
    const lanesNow = live();
    if ('error' in record) return Promise.all(lanesNow.map((lane) => settle(lane, early(lane, record, ''), record.error, {})));
    const parts: Part[] = [];
    const refused: Promise<void>[] = [];
    for (const lane of lanesNow) {
      let user: string;
      try {
        user = lane.userOf(record.fields);
      } catch (error) {
        refused.push(settle(lane, early(lane, record, ''), error, { fields: record.fields }));
        continue;
      }
      // Decided here, in CSV order, so the first row of a user always wins whatever finishes first.
      const canonical = lane.target.features.canonical?.(user) ?? user;
      // Before the duplicate check: a user listed twice is in one shard twice, so it still fires.
      if (config.shard && !inShard(config.shard, canonical)) continue;
      const kept = firstRow(lane, canonical, user, record.row);
      if (kept !== undefined) {
        refused.push(settle(lane, early(lane, record, user), new RowError('duplicate_user', `${user} already appears on row ${kept}; that row is kept and this one ignored`), { fields: record.fields }));
        continue;
      }
      try {
        // In CSV order too: two users writing one place (dir: one file name) keep the first.
        lane.target.features.claim?.(user, record.row, lane.metBefore);
      } catch (error) {
        refused.push(settle(lane, early(lane, record, user), error));
        continue;
      }
      const base: RowInput = {
        type: 'row', ts: '', run: config.runId, row: record.row, line: record.line, user: capText(user),
        // The cell as given until it resolves, so a failed line still says what was asked for.
        target: lane.target.id, source: cellText(imageOrEmpty(record.fields)), settings: lane.settings,
      };
      parts.push({
        lane, user, base,
        // Every fact named from the start, unknown ones undefined: the object keeps one shape
        // while the facts arrive, instead of changing it (a slow hidden-class transition each)
        // with every fact, which cost a nightly run of 100 000 skips ~0.4 s.
        facts: {
          force: config.force, retryFailed: config.retryFailed, overwriteUserChanges: lane.overwriteUserChanges, replaceExisting: lane.replaceExisting,
          guardsUserChanges: lane.target.features.guardsUserChanges, onlyNew: lane.onlyNew === true,
          latest: undefined, latestSource: undefined, held: undefined, heldSource: undefined,
          intent: undefined, intentSource: undefined, account: undefined, outputSha256: undefined,
        },
      });
    }
    if (parts.length > 0) {
      const fast = fastPath(record, parts);
      if (fast === 'slow') refused.push(processRow(record, parts));
      else if (fast !== 'done') refused.push(fast);
    }
    return refused.length === 0 ? undefined : Promise.all(refused);
  };

  // The files the coming rows will stat, stat-ed ahead in another thread (util/stats-ahead.ts):
  // the photo locateNow() takes, and the target's own file (dir's avatar) where it has one.
  const filesOf = (record: CsvRecord | CsvProblem, into: AheadFile[]): void => {
    if ('error' in record) return;
    try {
      const path = aheadPath(config.imageOf(record.fields), config.source);
      if (path !== undefined) into.push({ path, follow: false });
    } catch {
      /* its row fails, without a file to stat */
    }
    for (const lane of lanes) {
      const localFile = lane.target.features.localFile;
      if (localFile === undefined) continue;
      try {
        const user = lane.userOf(record.fields);
        if (config.shard && !inShard(config.shard, lane.target.features.canonical?.(user) ?? user)) continue;
        into.push({ path: localFile(user), follow: true });
      } catch {
        /* its row fails, without a file to stat */
      }
    }
  };
  const ahead = new StatsAhead();
  const reader = new ReadAhead(config.csv.records, filesOf, useStatsAhead(ahead) ? ahead : undefined, () => windowSize - inFlight);

  try {
    for (let record = await reader.next(); record !== undefined; record = await reader.next()) {
      while (inFlight >= windowSize && live().length > 0) await new Promise<void>((resolve) => (wake = resolve));
      if (live().length === 0 || config.signal.aborted || writeFailure()) break;
      let admitted: Promise<unknown> | undefined;
      try {
        admitted = admit(record);
      } catch (error) {
        admitted = Promise.reject(error);
      }
      if (admitted === undefined) continue;
      inFlight++;
      const task: Promise<void> = admitted.then(() => undefined).finally(() => {
        inFlight--;
        tasks.delete(task);
        const resume = wake;
        wake = undefined;
        resume?.();
      });
      tasks.add(task);
    }
  } finally {
    await reader.close();
    await Promise.all(tasks);
    stopUsingStatsAhead(ahead);
    await ahead.close();
  }
  // A line the fast path did not wait for could not be written: the ledger refuses every line
  // after that, so the run stops as a failed write stops it anywhere else.
  const failed = writeFailure();
  if (failed) throw failed.error;
  // A run shorter than the window is judged at its end; a halted lane gets its hint now.
  for (const lane of lanes) {
    if (!lane.fatal) {
      const verdict = stopped() ? undefined : lane.watch.finish();
      if (verdict) halt(lane, verdict);
    }
    if (lane.verdict) lane.fatal = new FatalError('misconfigured', `${describeVerdict(lane.verdict)}; ${await hintFor(lane, lane.verdict, config.source.imagesDir)}`);
  }
  const fatal = new Map(lanes.flatMap((lane) => (lane.fatal ? [[lane.target.id, lane.fatal] as const] : [])));
  return { fatal, interrupted: config.signal.aborted && fatal.size < lanes.length, cutOff, imagesRead, imageBytesRead };
}

/**
 * The row on which the run first met this user on this lane, or undefined, in which case this row
 * is remembered as that row. A user the ledger knows (a nightly run's every user) is remembered by
 * the ledger's key id, instead of in the lane's own table (about 14 bytes each): 1 byte each while
 * the export lists users in about the order the ledger met them (NarrowColumn), 4 at most. Only where the ledger's key is the user as compared (no `canonical`
 * form, not cut by capText); a user the ledger learns during the run stays in the table.
 */
function firstRow(lane: Lane, canonical: string, user: string, row: number): number | undefined {
  const id = knownId(lane, user);
  if (id >= 0) {
    const known = lane.seenKnown.get(id);
    if (known !== 0) return known;
  }
  const kept = lane.seen.get(canonical);
  if (kept !== undefined) return kept;
  if (id >= 0) lane.seenKnown.set(id, row);
  else lane.seen.set(canonical, row);
  return undefined;
}

/** firstRow's question without its answer's side effect: the row on which the run met `user` on
 * this lane (and passed it on to `claim`), if it did. */
function metRow(lane: Lane, user: string): number | undefined {
  const id = knownId(lane, user);
  if (id >= 0) {
    const known = lane.seenKnown.get(id);
    if (known !== 0) return known;
  }
  return lane.seen.get(lane.target.features.canonical?.(user) ?? user);
}

/** The ledger's key id firstRow remembers `user` by, or -1: in its own table. */
function knownId(lane: Lane, user: string): number {
  // canonical === user whenever the ledger's id is used (no canonical form).
  return lane.target.features.canonical === undefined && capText(user) === user ? lane.ledger.keyId(lane.target.id, user) : -1;
}

/** Lines the fast path lets go to disk unwaited, per ledger, before it waits (about 1.5 MB). */
const MAX_UNWRITTEN_SKIPS = 1024;

/** Work not yet sent when the run was interrupted or its target halted: no line. */
class CutOff extends Error {
  constructor() {
    super('cut off by an interrupt or a halt');
    this.name = 'CutOff';
  }
}

/** The likeliest cause of a halt, in words an operator can act on. */
async function hintFor(lane: Lane, verdict: Verdict, imagesDir: string): Promise<string> {
  if (verdict.code === 'file_not_found') return fileNotFoundHint(imagesDir, verdict.cells);
  if (verdict.code === 'user_not_found') {
    const sent = verdict.users[0];
    const known = sent ? await lane.target.features.knownUser?.(sent).catch(() => undefined) : undefined;
    if (sent && known) return `users are sent as ${sent}, but ${lane.target.name} knows them as e.g. ${known}: check --user-template and the id column`;
    return `no user was found${sent ? ` (e.g. ${sent})` : ''}: check --user-template and the id column`;
  }
  return `see the first failures below; --halt-on-fail-ratio 0 goes on regardless`;
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

/**
 * The line of a decision that changes nothing on the target (carry a failure, protect, skip), for
 * the slow path and the fast one alike.
 */
function recordOnly(decision: Extract<Decision, { action: 'carry-failure' | 'protect' | 'skip' }>, base: RowInput, part: Pick<Part, 'held' | 'intent' | 'account'>): RowLine {
  let line: RowLine;
  switch (decision.action) {
    case 'carry-failure':
      line = { ...base, status: 'failed', reason: 'unchanged_since_failure', error: decision.error };
      break;
    case 'protect':
      // First contact records what the user has (`found`), so an operator can see what was kept.
      line = {
        ...base, status: 'skipped', reason: decision.reason,
        ...(decision.reason === 'has_own_avatar' && part.account?.current !== undefined ? { found: capText(part.account.current) } : {}),
      };
      break;
    case 'skip': {
      // The tool's own write whose line a kill lost: recorded now, as the write it was.
      if (decision.recovered) line = { ...base, ...carried(part.intent!), remote: part.account!.current!, status: 'ok', reason: 'recovered' };
      else {
        const stillOurs = part.held !== undefined && part.account?.current === part.held.remote;
        line = stillOurs ? unchanged(base, part.held!) : { ...base, status: 'skipped' };
      }
    }
  }
  // `ts` keeps its place (the base has it), so the line reads as every other.
  line.ts = isoNow();
  return line;
}

/** The fields `match` compares a row's source with. */
type SourceFields = Pick<RowLine, 'source' | 'settings' | 'sourceSize' | 'sourceMtimeMs' | 'sourceSha256'>;

/** What a line says of the avatar made (in an `ok` line's order, before its status)… */
const OUTPUT_KEYS = ['outputSha256', 'bytes', 'edge', 'quality'] as const;
/** … and of what the target holds (after its status). */
const HELD_KEYS = ['remote', 'stamp'] as const;

/** Copies `keys` that `from` has into `into`, in that order. */
function copyKeys(into: Record<string, unknown>, from: Partial<RowLine>, keys: readonly (keyof RowLine)[]): void {
  for (const key of keys) if (from[key] !== undefined) into[key] = from[key];
}

/**
 * The skip line of a row whose target still holds the tool's write: what the line that recorded
 * it says of the output, in the field order of an `ok` line (output, status, remote, stamp), so
 * that the first night after an import can take its text from that line (line-text.ts).
 */
function unchanged(base: RowInput, held: RowLine): RowLine {
  const line = { ...base } as Record<string, unknown>;
  copyKeys(line, held, OUTPUT_KEYS);
  line.status = 'skipped';
  copyKeys(line, held, HELD_KEYS);
  return line as unknown as RowLine;
}

/** What a skipped row copies forward from the line that recorded the target's state. */
function carried(held: RowLine | IntentLine): Partial<RowLine> {
  const out: Record<string, unknown> = {};
  copyKeys(out, held as Partial<RowLine>, OUTPUT_KEYS);
  copyKeys(out, held as Partial<RowLine>, HELD_KEYS);
  return out as Partial<RowLine>;
}
