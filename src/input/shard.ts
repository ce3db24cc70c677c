import { createHash } from 'node:crypto';
import { basename, dirname, extname, join } from 'node:path';

import { UsageError } from '../errors.js';

// Deterministic shards (`--shard K/N`) so that Kubernetes Indexed Jobs or GNU parallel can split
// one import without a scheduler. A row's shard depends only on its user's canonical form (the
// form duplicate detection compares), never on the row's position, the CSV's name or the machine:
// every shard reads the same CSV and keeps its own users, a user listed twice lands twice in the
// same shard (so duplicate detection still sees both), and a re-run with another row order or
// another export of the same people gives the same split.

/** Shard `index` of `count`, 1-based as the user writes it (`--shard 3/8`). */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

export interface ShardInputs {
  /** `--shard`: `K/N` or `auto`. */
  readonly shard: string;
  /** `--shards N`, the count `--shard auto` uses (else JOB_COMPLETIONS). */
  readonly shards?: number | string | undefined;
  /** Where `--shard auto` finds JOB_COMPLETION_INDEX and JOB_COMPLETIONS. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

const SPEC = /^\s*(\d+)\s*\/\s*(\d+)\s*$/;

/**
 * `--shard` (and `--shards`) as a Shard, or UsageError naming the option and what was expected.
 * `auto` is for Kubernetes Indexed Jobs: K is JOB_COMPLETION_INDEX + 1 (the variable is 0-based),
 * N is `--shards` or JOB_COMPLETIONS. When both give N they must agree: a manifest whose
 * completions disagree with the command would leave shards nobody runs.
 */
export function parseShard(inputs: ShardInputs): Shard {
  const spec = inputs.shard.trim();
  const shards = inputs.shards === undefined ? undefined : positiveInteger('--shards', inputs.shards);
  if (spec === 'auto') return autoShard(shards, inputs.env);
  const match = SPEC.exec(spec);
  if (!match) throw new UsageError(`--shard expects K/N (1 ≤ K ≤ N, e.g. 3/8) or auto, got "${inputs.shard}"`);
  const index = Number(match[1]);
  const count = Number(match[2]);
  if (count < 1 || index < 1 || index > count || !Number.isSafeInteger(count)) {
    throw new UsageError(`--shard expects K/N with 1 ≤ K ≤ N (e.g. 3/8), got "${inputs.shard}"`);
  }
  if (shards !== undefined && shards !== count) {
    throw new UsageError(`--shards ${shards} disagrees with --shard ${spec}: give the count once`);
  }
  return { index, count };
}

function autoShard(shards: number | undefined, env: ShardInputs['env']): Shard {
  const rawIndex = env.JOB_COMPLETION_INDEX;
  if (rawIndex === undefined || rawIndex.trim() === '') {
    throw new UsageError('--shard auto needs JOB_COMPLETION_INDEX, which Kubernetes sets in Indexed Jobs (completionMode: Indexed); elsewhere give --shard K/N');
  }
  if (!/^\d+$/.test(rawIndex.trim())) throw new UsageError(`--shard auto: JOB_COMPLETION_INDEX must be a whole number from 0, got "${rawIndex}"`);
  const rawCompletions = env.JOB_COMPLETIONS;
  const completions = rawCompletions === undefined || rawCompletions.trim() === '' ? undefined : positiveInteger('JOB_COMPLETIONS', rawCompletions);
  if (shards !== undefined && completions !== undefined && shards !== completions) {
    throw new UsageError(`--shards ${shards} disagrees with JOB_COMPLETIONS=${completions}: make the Job's completions match, or drop --shards`);
  }
  const count = shards ?? completions;
  if (count === undefined) throw new UsageError('--shard auto needs the number of shards: --shards N (or JOB_COMPLETIONS in the environment)');
  const index = Number(rawIndex.trim()) + 1;
  if (index > count) throw new UsageError(`--shard auto: JOB_COMPLETION_INDEX=${rawIndex} is outside ${count} shards (0 to ${count - 1})`);
  return { index, count };
}

function positiveInteger(name: string, value: number | string): number {
  const n = typeof value === 'number' ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`${name} expects a whole number of shards from 1, got "${String(value)}"`);
  return n;
}

/**
 * The 1-based shard of a user, given the user's canonical form (`target.features.canonical`, or the user
 * as is). The first 48 bits of SHA-256 modulo N: the same on every machine and Node version, and
 * spread evenly whatever the ids look like (sequential numbers, one e-mail domain).
 */
export function shardOf(canonicalUser: string, count: number): number {
  const digest = createHash('sha256').update(canonicalUser, 'utf8').digest();
  return (digest.readUIntBE(0, 6) % count) + 1;
}

/** Whether the row of this (canonical) user belongs to `shard`. */
export function inShard(shard: Shard, canonicalUser: string): boolean {
  return shard.count === 1 || shardOf(canonicalUser, shard.count) === shard.index;
}

/**
 * The ledger of a shard: `people.ledger.jsonl` → `people.ledger.shard-3-of-8.jsonl`, so shards
 * sharing a volume never share (and never fight over the lock of) one ledger file. Meant for the
 * ledger path whether given (`--ledger`, `ledger:` in a config every shard reads) or default:
 * `parallel avatar-import --config job.yaml --shard {}/8` gives every shard the same config.
 */
export function shardLedgerPath(path: string, shard: Shard): string {
  const extension = extname(path);
  const stem = basename(path, extension);
  return join(dirname(path), `${stem}.shard-${shard.index}-of-${shard.count}${extension}`);
}

export interface RateInputs {
  /** `--max-rate`: with shards, the budget of the whole job. */
  readonly maxRate?: number | undefined;
  /** `--max-rate-per-shard`: this shard's own rate, as given. */
  readonly maxRatePerShard?: number | undefined;
}

/**
 * Requests per second this shard may send: `--max-rate` split evenly, so N pods together send what
 * one run would, unless `--max-rate-per-shard` says otherwise. Both at once is ambiguous: refused.
 */
export function shardRate(shard: Shard, rates: RateInputs): number | undefined {
  const { maxRate, maxRatePerShard } = rates;
  if (maxRate !== undefined && maxRatePerShard !== undefined) {
    throw new UsageError('give --max-rate (the whole job, split across shards) or --max-rate-per-shard (each shard), not both');
  }
  if (maxRatePerShard !== undefined) {
    if (!(maxRatePerShard > 0)) throw new UsageError(`--max-rate-per-shard expects requests per second above 0, got "${String(maxRatePerShard)}"`);
    return maxRatePerShard;
  }
  return maxRate === undefined ? undefined : maxRate / shard.count;
}
