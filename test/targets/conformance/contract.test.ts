// The contract every target keeps with the pipeline, checked the same way on all four, each
// against its own test server (dir against a temp folder). The pipeline's decisions rest on it:
//   - what apply() returns as `remote` is what resolve() reports as `current`, in this run and the
//     next, so "still what the tool left" is `current === prior.remote`;
//   - an avatar the user set themselves reads differently, so it is never mistaken for the tool's;
//   - an avatar a user already had before the tool came is visible as `current`, and the server's
//     default avatar is not (Zulip: a Gravatar or an untouched Jdenticon), so first contact keeps
//     the first (has_own_avatar) and writes over the second;
//   - apply() names, through `intend`, before it changes the target, what resolve() will report as
//     `current` (issue 11): a write whose ledger line a kill lost is then known as the tool's own;
//   - refusals carry the documented codes (an avatar over the announced size: upload_rejected);
//     refused credentials stop the run at open().
//   - what `features` declares is what the target does (bulk lookups cost a handful of requests).
// A new target passes this file before it is registered.
import { AvatarError, FatalError } from '../../../src/errors.js';
import { decide, type RowFacts } from '../../../src/pipeline/decide.js';
import type { Applied, Avatar, Prior, Target } from '../../../src/targets/target.js';
import { avatar, harnesses, type World } from './harnesses.js';

/** What the ledger keeps after an ok row, as the pipeline builds it. */
function priorOf(image: Avatar, applied: Applied): Prior {
  return { outputSha256: image.sha256, bytes: image.jpeg.length, remote: applied.remote, ...(applied.stamp === undefined ? {} : { stamp: applied.stamp }) };
}

async function opened(target: Target): Promise<Target> {
  await target.open(new AbortController().signal);
  return target;
}

/** Resolve then apply, as the pipeline does for a row it decided to write. */
async function write(target: Target, user: string, image: Avatar): Promise<Prior> {
  const account = await target.resolve(user, undefined);
  return priorOf(image, await target.apply(account, image));
}

async function codeOf(work: Promise<unknown>): Promise<string> {
  return work.then(
    () => 'ok',
    (error: unknown) => (error instanceof AvatarError ? `${error.kind}:${error.code}` : String(error)),
  );
}

describe.each(harnesses)('target contract: $name', (harness) => {
  let world: World;
  const targets: Target[] = [];
  /** A target for this world, closed after the test. */
  const fresh = (): Target => {
    const target = world.target();
    targets.push(target);
    return target;
  };

  beforeEach(async () => {
    world = await harness.start();
  });
  afterEach(async () => {
    for (const target of targets.splice(0)) await target.close();
    await world.close();
  });

  test("resolve().current is what apply() returned, in the same run and the next, with or without the ledger's prior", async () => {
    const target = await opened(fresh());
    const image = await avatar(1);
    const prior = await write(target, world.cast.fresh, image);

    expect((await target.resolve(world.cast.fresh, prior)).current).toBe(prior.remote);
    const next = await opened(fresh());
    expect((await next.resolve(world.cast.fresh, prior)).current).toBe(prior.remote);
    expect((await next.resolve(world.cast.fresh, undefined)).current).toBe(prior.remote);
  });

  test('the same avatar again reads as unchanged; writing it again anyway (--force) is recorded the same way', async () => {
    const image = await avatar(2);
    const first = await write(await opened(fresh()), world.cast.fresh, image);

    const next = await opened(fresh());
    const account = await next.resolve(world.cast.fresh, first);
    expect(account.current).toBe(first.remote); // the pipeline skips: still ours, same bytes

    const again = priorOf(image, await next.apply(account, image));
    expect((await (await opened(fresh())).resolve(world.cast.fresh, again)).current).toBe(again.remote);
  });

  test('apply() announces what it is about to set before the target changes, and the next run recognises it', async () => {
    const target = await opened(fresh());
    const image = await avatar(6);
    const account = await target.resolve(world.cast.fresh, undefined);
    const intended: (string | undefined)[] = [];
    let currentWhenIntended: string | undefined = 'not called';
    const applied = await target.apply(account, image, {
      intend: async (remote) => {
        intended.push(remote);
        // The ledger line is written here: the user must not show the new avatar yet.
        currentWhenIntended = (await (await opened(fresh())).resolve(world.cast.fresh, undefined)).current;
      },
    });
    expect(intended).toHaveLength(1);
    expect(intended[0]).toBeDefined();
    expect(currentWhenIntended).toBe(account.current);

    // The next run has only the intent (the row line was lost): what it reads is what was intended.
    const next = await (await opened(fresh())).resolve(world.cast.fresh, undefined);
    const isIntended = target.features.isIntended ?? ((a: string, b: string) => a === b);
    expect(next.current).toBe(applied.remote);
    expect(isIntended(next.current!, intended[0]!)).toBe(true);
    // … and a value the user sets is not.
    await world.userSetsAvatar(world.cast.fresh);
    const theirs = await (await opened(fresh())).resolve(world.cast.fresh, undefined);
    expect(isIntended(theirs.current!, intended[0]!)).toBe(false);
  });

  test('an avatar the user set after the tool reads differently from what the tool left', async () => {
    const prior = await write(await opened(fresh()), world.cast.fresh, await avatar(3));
    await world.userSetsAvatar(world.cast.fresh);

    const account = await (await opened(fresh())).resolve(world.cast.fresh, prior);
    expect(account.current).toBeDefined();
    expect(account.current).not.toBe(prior.remote);
  });

  test('only a folder the tool owns is written over a user\'s own choice; remote targets guard it', async () => {
    expect(fresh().features.guardsUserChanges).toBe(harness.name !== 'dir');
  });

  test('a user never seen before who already has an avatar of their own: it is visible as current', async () => {
    const target = await opened(fresh());
    const own = await target.resolve(world.cast.ownAvatar, undefined);
    expect(own.current).toBeDefined();

    const none = await target.resolve(world.cast.fresh, undefined);
    expect(none.current).toBeUndefined();
  });

  /** decide() for a row of this user, as run() asks it once the target has answered. */
  const decision = (account: { current?: string | undefined }, held?: Prior, flags: Partial<RowFacts> = {}) =>
    decide({
      force: false, retryFailed: false, overwriteUserChanges: false, replaceExisting: false, guardsUserChanges: fresh().features.guardsUserChanges,
      ...(held ? { held: { remote: held.remote!, outputSha256: held.outputSha256 }, heldSource: 'same' as const } : {}),
      account, ...flags,
    });

  test('first contact keeps an avatar the user chose (has_own_avatar); --replace-existing replaces it and records it as previous', async () => {
    const target = await opened(fresh());
    const own = await target.resolve(world.cast.ownAvatar, undefined);
    expect(decision(own)).toEqual({ action: 'protect', reason: 'has_own_avatar' });
    expect(decision(await target.resolve(world.cast.fresh, undefined))).toEqual({ action: 'write' });

    expect(decision(own, undefined, { replaceExisting: true })).toEqual({ action: 'write' });
    const applied = await target.apply(own, await avatar(6));
    expect(applied.previous).toBeDefined();
  });

  const guarding = harness.name === 'dir' ? test.skip : test; // a folder the tool owns guards no later change

  guarding('an avatar the user set after the tool is kept (changed_by_user) unless --overwrite-user-changes', async () => {
    const image = await avatar(7);
    const prior = await write(await opened(fresh()), world.cast.fresh, image);
    expect(decision(await (await opened(fresh())).resolve(world.cast.fresh, prior), prior)).toEqual({ action: 'skip' });

    await world.userSetsAvatar(world.cast.fresh);
    const changed = await (await opened(fresh())).resolve(world.cast.fresh, prior);
    expect(decision(changed, prior)).toEqual({ action: 'protect', reason: 'changed_by_user' });
    expect(decision(changed, prior, { overwriteUserChanges: true })).toEqual({ action: 'write' });
  });

  test('rows the target calls the same user resolve to the same account', async () => {
    const target = await opened(fresh());
    const { canonical } = target.features;
    const [a, b] = [world.cast.fresh, world.cast.freshOtherCase];
    if (canonical) expect(canonical(a)).toBe(canonical(b));
    else expect(b).toBe(a); // exact users: nothing else to compare
    const [one, other] = await Promise.all([target.resolve(a, undefined), target.resolve(b, undefined)]);
    expect(other.id).toBe(one.id);
    expect(other.current).toBe(one.current);
  });

  test('a target that says it finds users in bulk or in batches looks 40 users up in a handful of requests', async () => {
    const users = await world.addUsers(40);
    const target = fresh();
    const { bulkDiscovery, batchesLookups } = target.features;
    expect(bulkDiscovery || batchesLookups === true).toBe(harness.bulk);
    await opened(target);
    const before = world.requests();
    const accounts = await Promise.all(users.map((user) => target.resolve(user, undefined)));
    expect(accounts.map((a) => a.user)).toEqual(users);
    if (harness.bulk) expect(world.requests() - before).toBeLessThanOrEqual(5);
  });

  const refusing = harness.refuses ? test : test.skip; // dir: any name is a file, nobody is deactivated, no credentials

  refusing("refusals carry their documented codes and are the row's, not the run's", async () => {
    const { unknown, deactivated, invalid } = world.cast;
    const target = await opened(fresh());
    const codes = { unknown: await codeOf(target.resolve(unknown!, undefined)), deactivated: await codeOf(target.resolve(deactivated!, undefined)), invalid: await codeOf(target.resolve(invalid!, undefined)) };
    expect(codes).toEqual({ unknown: 'row:user_not_found', deactivated: 'row:user_deactivated', invalid: 'row:invalid_user_id' });
    // The run goes on: the next row still works.
    await expect(target.resolve(world.cast.fresh, undefined)).resolves.toMatchObject({ user: world.cast.fresh });
  });

  refusing('credentials the server refuses stop the run at open(), before any row', async () => {
    const refused = await world.refusedTarget!();
    targets.push(refused);
    await expect(refused.open(new AbortController().signal)).rejects.toBeInstanceOf(FatalError);
  });
});

describe.each(harnesses.filter((h) => h.refuses))('target contract: $name refuses what is over its limit', (harness) => {
  test('an avatar over the size the server announced is the row\'s upload_rejected (neither retried to exhaustion nor fatal) and changes nothing', async () => {
    const world = await harness.start();
    const target = world.target();
    try {
      const limits = await target.open(new AbortController().signal);
      expect(limits.maxBytes).toBeGreaterThan(0);
      const image = await avatar(5);
      const jpeg = Buffer.concat([image.jpeg.subarray(0, -2), Buffer.alloc(limits.maxBytes! + 1 - image.jpeg.length), image.jpeg.subarray(-2)]);
      const big: Avatar = { ...image, jpeg, sha256: 'f'.repeat(64) };
      const account = await target.resolve(world.cast.fresh, undefined);
      expect(await codeOf(target.apply(account, big))).toBe('row:upload_rejected');
      const next = world.target();
      try {
        await next.open(new AbortController().signal);
        expect((await next.resolve(world.cast.fresh, undefined)).current).toBe(account.current); // nothing changed
      } finally {
        await next.close();
      }
    } finally {
      await target.close();
      await world.close();
    }
  });
});
