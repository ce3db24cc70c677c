import { UsageError } from '../../src/errors.js';
import { inShard, parseShard, shardLedgerPath, shardOf, shardRate, type Shard } from '../../src/input/shard.js';

// What the pipeline compares for duplicates on Zulip and Authgear (e-mail targets): trimmed, lower case.
const canonical = (user: string): string => user.trim().toLowerCase();

/** 10 000 users shaped like an HR export: sequential ids on one domain, the hardest case for a weak hash. */
const users = Array.from({ length: 10_000 }, (_, i) => `employee${String(i + 1).padStart(5, '0')}@acme.example`);

function split(rows: readonly string[], count: number): Map<number, string[]> {
  const shards = new Map<number, string[]>();
  for (let index = 1; index <= count; index++) {
    const shard: Shard = { index, count };
    shards.set(index, rows.filter((user) => inShard(shard, canonical(user))));
  }
  return shards;
}

/** A seeded shuffle (mulberry32), so the test is the same on every run. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  const random = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function usageError(act: () => unknown): string {
  try {
    act();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('which shard a row belongs to', () => {
  test.each([2, 3, 4, 8])('the %i shards together hold every row exactly once', (count) => {
    const shards = split(users, count);
    const all = [...shards.values()].flat();
    expect(all).toHaveLength(users.length);
    expect(new Set(all).size).toBe(users.length);
  });

  test.each([2, 3, 4, 8])('each of %i shards holds within ±10 %% of rows/N on 10 000 users', (count) => {
    const fair = users.length / count;
    for (const rows of split(users, count).values()) {
      expect(rows.length).toBeGreaterThanOrEqual(fair * 0.9);
      expect(rows.length).toBeLessThanOrEqual(fair * 1.1);
    }
  });

  test('the partition does not depend on the order of the rows', () => {
    const inOrder = split(users, 8);
    const reordered = split(shuffled(users, 42), 8);
    for (let index = 1; index <= 8; index++) {
      expect(new Set(reordered.get(index))).toEqual(new Set(inOrder.get(index)));
    }
  });

  test('a user listed twice (in any case) lands twice in the same shard, so duplicate detection still sees both', () => {
    const rows = ['Ana.Ortiz@Acme.example', 'bo@acme.example', ' ana.ortiz@acme.example', 'BO@ACME.EXAMPLE'];
    for (let count = 2; count <= 16; count++) {
      expect(shardOf(canonical(rows[0]!), count)).toBe(shardOf(canonical(rows[2]!), count));
      expect(shardOf(canonical(rows[1]!), count)).toBe(shardOf(canonical(rows[3]!), count));
    }
  });

  test('membership is a fixed function of the user: the same on every machine and run', () => {
    // Pinned values: changing the hash would move users between shards of a running migration.
    expect([2, 3, 4, 8].map((n) => shardOf('ana.ortiz@acme.example', n))).toEqual([2, 3, 4, 4]);
    expect([2, 3, 4, 8].map((n) => shardOf('bo@acme.example', n))).toEqual([1, 1, 3, 7]);
  });

  test('one shard of one is everything', () => {
    expect(users.every((user) => inShard({ index: 1, count: 1 }, user))).toBe(true);
  });
});

describe('--shard K/N', () => {
  test('K and N are read 1-based, as written', () => {
    expect(parseShard({ shard: '3/8', env: {} })).toEqual({ index: 3, count: 8 });
    expect(parseShard({ shard: ' 1 / 1 ', env: {} })).toEqual({ index: 1, count: 1 });
  });

  test.each(['0/8', '9/8', '3', '3/0', 'a/b', '-1/4', '2.5/4', ''])('"%s" is refused with what was expected', (spec) => {
    expect(usageError(() => parseShard({ shard: spec, env: {} }))).toMatch(/^--shard expects K\/N/);
  });

  test('--shards that disagrees with N is refused rather than guessed', () => {
    expect(parseShard({ shard: '3/8', shards: 8, env: {} })).toEqual({ index: 3, count: 8 });
    expect(usageError(() => parseShard({ shard: '3/8', shards: 4, env: {} }))).toMatch(/--shards 4 disagrees with --shard 3\/8/);
  });
});

describe('--shard auto (Kubernetes Indexed Jobs)', () => {
  test('K is JOB_COMPLETION_INDEX + 1 (Kubernetes counts from 0) and N comes from JOB_COMPLETIONS', () => {
    expect(parseShard({ shard: 'auto', env: { JOB_COMPLETION_INDEX: '0', JOB_COMPLETIONS: '8' } })).toEqual({ index: 1, count: 8 });
    expect(parseShard({ shard: 'auto', env: { JOB_COMPLETION_INDEX: '7', JOB_COMPLETIONS: '8' } })).toEqual({ index: 8, count: 8 });
  });

  test('--shards N gives the count when the Job does not export JOB_COMPLETIONS', () => {
    expect(parseShard({ shard: 'auto', shards: '4', env: { JOB_COMPLETION_INDEX: '2' } })).toEqual({ index: 3, count: 4 });
  });

  test('outside an Indexed Job, or without a count, it says what is missing', () => {
    expect(usageError(() => parseShard({ shard: 'auto', shards: 4, env: {} }))).toMatch(/needs JOB_COMPLETION_INDEX/);
    expect(usageError(() => parseShard({ shard: 'auto', env: { JOB_COMPLETION_INDEX: '1' } }))).toMatch(/needs the number of shards: --shards N/);
  });

  test('an index outside the count, or a count that disagrees with the Job, is refused', () => {
    expect(usageError(() => parseShard({ shard: 'auto', env: { JOB_COMPLETION_INDEX: '8', JOB_COMPLETIONS: '8' } }))).toMatch(/outside 8 shards \(0 to 7\)/);
    expect(usageError(() => parseShard({ shard: 'auto', shards: 4, env: { JOB_COMPLETION_INDEX: '1', JOB_COMPLETIONS: '8' } }))).toMatch(/disagrees with JOB_COMPLETIONS=8/);
    expect(usageError(() => parseShard({ shard: 'auto', env: { JOB_COMPLETION_INDEX: 'x', JOB_COMPLETIONS: '8' } }))).toMatch(/JOB_COMPLETION_INDEX must be a whole number/);
    expect(usageError(() => parseShard({ shard: 'auto', shards: 0, env: { JOB_COMPLETION_INDEX: '0' } }))).toMatch(/^--shards expects a whole number/);
  });
});

describe('what a shard keeps apart', () => {
  test('the default ledger carries the shard, so shards on one volume never share a ledger', () => {
    expect(shardLedgerPath('/data/people.ledger.jsonl', { index: 3, count: 8 })).toBe('/data/people.ledger.shard-3-of-8.jsonl');
    expect(shardLedgerPath('ledger', { index: 1, count: 2 })).toBe('ledger.shard-1-of-2');
  });

  test('--max-rate is the whole job\'s budget, split evenly across shards', () => {
    expect(shardRate({ index: 1, count: 8 }, { maxRate: 40 })).toBe(5);
    expect(shardRate({ index: 1, count: 3 }, { maxRate: 1 })).toBeCloseTo(1 / 3);
    expect(shardRate({ index: 1, count: 8 }, {})).toBeUndefined();
  });

  test('--max-rate-per-shard is each shard\'s own rate, and cannot be combined with --max-rate', () => {
    expect(shardRate({ index: 2, count: 8 }, { maxRatePerShard: 5 })).toBe(5);
    expect(usageError(() => shardRate({ index: 2, count: 8 }, { maxRate: 40, maxRatePerShard: 5 }))).toMatch(/not both/);
    expect(usageError(() => shardRate({ index: 2, count: 8 }, { maxRatePerShard: 0 }))).toMatch(/^--max-rate-per-shard expects/);
  });
});
