// The batcher on its own, with stand-ins for the two kinds of request: what goes together, what
// goes alone, and what happens to the lookups still waiting when the target closes.
import { LookupBatcher, type BatcherOptions } from '../../../src/targets/authgear/lookup-batcher.js';
import type { BatchAnswer } from '../../../src/targets/authgear/lookup-batch.js';
import type { AuthgearUser } from '../../../src/targets/authgear/user.js';

const user = (id: string): AuthgearUser => ({ id, isDisabled: false, isDeactivated: false, isAnonymized: false, updatedAt: '', standardAttributes: {} });

function batcher(overrides: Partial<BatcherOptions> = {}) {
  const sent: string[][] = [];
  const alone: string[] = [];
  const options: BatcherOptions = {
    size: 4,
    idleMs: 1,
    refillMs: 1,
    maxBodyBytes: 1_000_000,
    bodyBytes: { base: 100, item: (value) => 10 + value.length },
    single: async (value) => {
      alone.push(value);
      return [user(value)];
    },
    batch: async (values): Promise<BatchAnswer> => {
      sent.push([...values]);
      return { outcomes: values.map((v) => ({ users: [user(v)] })) };
    },
    onRefused: () => undefined,
    what: (value) => `look up email ${value}`,
    ...overrides,
  };
  return { lookups: new LookupBatcher(options), sent, alone };
}

describe('LookupBatcher', () => {
  test('full batches go at once, the rest together after a pause in arrivals', async () => {
    const b = batcher();
    const found = await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((v) => b.lookups.find(v)));
    expect(found.map((users) => users[0]!.id)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(b.sent).toEqual([['a', 'b', 'c', 'd'], ['e', 'f']]);
    expect(b.alone).toEqual([]);
  });

  test('a batch also stops at the body budget; a lookup with no company goes as a single lookup', async () => {
    const b = batcher({ maxBodyBytes: 100 + 3 * 11 });
    await Promise.all(['a', 'b', 'c', 'd'].map((v) => b.lookups.find(v)));
    expect(b.sent).toEqual([['a', 'b', 'c']]);
    expect(b.alone).toEqual(['d']);
  });

  test('size 1 never batches', async () => {
    const b = batcher({ size: 1 });
    await Promise.all(['a', 'b'].map((v) => b.lookups.find(v)));
    expect(b.sent).toEqual([]);
    expect(b.alone).toEqual(['a', 'b']);
  });

  test('rows an answer did not look at go again, first, until each has its answer', async () => {
    let calls = 0;
    const b = batcher({
      batch: async (values) => {
        calls++;
        // The server names only the first bad value it meets; the rest of the data is nulled.
        const bad = values.findIndex((v) => v.startsWith('bad'));
        if (bad < 0) return { outcomes: values.map((v) => ({ users: [user(v)] })) };
        return { outcomes: values.map((v, i) => (i === bad ? { error: Object.assign(new Error(`${v} refused`), { code: 'invalid_user_id' }) as never } : { again: true as const })) };
      },
    });
    const settled = await Promise.allSettled(['bad1', 'a', 'bad2', 'b'].map((v) => b.lookups.find(v)));
    expect(settled.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as Error).message))).toEqual(['bad1 refused', 'ok', 'bad2 refused', 'ok']);
    expect(calls).toBe(3);
  });

  test('a refused document: said once, then everyone alone', async () => {
    const said: string[] = [];
    const b = batcher({ batch: async () => ({ refused: 'HTTP 400 BadRequest/BadRequest: too many fields' }), onRefused: (why) => said.push(why) });
    await Promise.all(['a', 'b', 'c', 'd'].map((v) => b.lookups.find(v)));
    await Promise.all(['e', 'f', 'g', 'h'].map((v) => b.lookups.find(v)));
    expect(said).toEqual(['HTTP 400 BadRequest/BadRequest: too many fields']);
    expect(b.alone.sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
    expect(b.lookups.batching).toBe(false);
  });

  test('closing fails the lookups still waiting, and any later one', async () => {
    const b = batcher({ idleMs: 60_000 });
    const waiting = b.lookups.find('a');
    b.lookups.close(new Error('the authgear target is closed'));
    await expect(waiting).rejects.toThrow('the authgear target is closed');
    await expect(b.lookups.find('b')).rejects.toThrow('the authgear target is closed');
    expect(b.sent).toEqual([]);
  });
});
