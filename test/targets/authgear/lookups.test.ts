// Lookups in batches: the rows in flight share one GraphQL document of aliased
// getUsersByStandardAttribute fields, and each row still gets exactly what a lookup of its own
// would have given it. Costs are read from the fake's request counter, never from timing.
import { MAX_LOOKUP_BATCH_SIZE } from '../../../src/targets/authgear/options.js';
import { batchItemBytes, batchRequest, BATCH_BASE_BYTES } from '../../../src/targets/authgear/lookup-batch.js';
import { MAX_LOOKUP_BODY_BYTES } from '../../../src/targets/authgear/target.js';
import { outcomes, setup, type Setup } from './helpers.js';

let s: Setup;
afterEach(async () => {
  await s.target.close();
  await s.authgear.close();
  expect(s.authgear.server.errors).toEqual([]);
});

const emails = (n: number, prefix = 'user') => Array.from({ length: n }, (_, i) => `${prefix}${i}@acme.example`);
const lookups = (s: Setup, users: string[]) => users.map((u) => s.target.resolve(u, undefined));
const batchBodies = (s: Setup) => s.authgear.graphql.filter((r) => r.body.includes('AvatarImportFindUsersBatch'));
/** Lookups sent in each batch (the fields executed can be fewer: execution stops at an error). */
const batchSizes = (s: Setup) => batchBodies(s).map((r) => r.body.match(/getUsersByStandardAttribute\(/g)!.length);

describe('authgear target: lookups in batches', () => {
  test('rows in flight together share requests: 120 lookups at --lookup-batch-size 50 are 3 requests', async () => {
    s = await setup({}, { argv: { 'lookup-batch-size': 50 } });
    const ids = new Map(emails(120).map((e) => [e, s.authgear.addUser({ email: e })]));
    await s.open();
    const before = s.authgear.graphqlRequests;
    const accounts = await Promise.all(lookups(s, [...ids.keys()]));
    expect(accounts.map((a) => a.id)).toEqual([...ids.values()]);
    expect(s.authgear.graphqlRequests - before).toBe(3);
    expect(s.authgear.count('getUsersByStandardAttribute')).toBe(120);
    expect(batchSizes(s)).toEqual([50, 50, 20]);
  });

  test('a lookup alone goes alone, as the single lookup it always was', async () => {
    s = await setup();
    const id = s.authgear.addUser({ email: 'ana@acme.example' });
    await s.open();
    await expect(s.target.resolve('ana@acme.example', undefined)).resolves.toMatchObject({ id });
    expect(s.authgear.graphql.at(-1)!.body).toContain('query AvatarImportFindUsers(');
    expect(batchBodies(s)).toHaveLength(0);
  });

  test('each alias maps back to its own row: found, not found, ambiguous, deactivated, refused by the server', async () => {
    s = await setup({}, { argv: { 'lookup-batch-size': 10 } });
    const ana = s.authgear.addUser({ email: 'ana@acme.example', standard: { picture: 'https://cdn.example/ana.jpg' } });
    s.authgear.addUser({ email: 'bo@acme.example' });
    s.authgear.addUser({ email: 'bo.2@acme.example', identities: [{ kind: 'oauth', email: 'bo@acme.example' }] });
    s.authgear.addUser({ email: 'cy@acme.example', deactivated: true });
    const di = s.authgear.addUser({ email: 'di@acme.example' });
    await s.open();
    // 'ana@localhost' and 'ed@intranet' pass the client's check (it only refuses what Authgear
    // surely refuses) but not the server's: GetUsersInvalidArgument, in the middle of the batch.
    const rows = ['ana@acme.example', 'ghost@acme.example', 'ana@localhost', 'bo@acme.example', 'cy@acme.example', 'ed@intranet', 'DI@acme.example', 'no at sign'];
    const before = s.authgear.graphqlRequests;
    const settled = await Promise.allSettled(lookups(s, rows));
    expect(await outcomes(settled.map((r) => (r.status === 'fulfilled' ? Promise.resolve(r.value) : Promise.reject(r.reason))))).toEqual([
      'ok', 'user_not_found', 'invalid_user_id', 'ambiguous_user', 'user_deactivated', 'invalid_user_id', 'ok', 'invalid_user_id',
    ]);
    const value = (i: number) => (settled[i] as PromiseFulfilledResult<{ id: string; current?: string }>).value;
    expect(value(0)).toMatchObject({ id: ana, current: 'https://cdn.example/ana.jpg' });
    expect(value(6)).toMatchObject({ id: di });
    const message = (i: number) => ((settled[i] as PromiseRejectedResult).reason as Error).message;
    // Word for word what a lookup of its own says.
    expect(message(2)).toBe('look up email ana@localhost: Authgear cannot use this value for the lookup: Invalid/GetUsersInvalidArgument: invalid attributeValue');
    expect(message(3)).toMatch(/^2 Authgear users have email bo@acme\.example/);
    expect(message(7)).toMatch(/^look up email no at sign: .*not sent$/);
    // Null propagation: each server-refused value nulled its batch's data and was the only error
    // named, so the rest went again: 7 values sent (the eighth was refused locally), 3 requests.
    expect(s.authgear.graphqlRequests - before).toBe(3);
    expect(batchSizes(s)).toEqual([7, 6, 5]);
  });

  test('a failed request fails each of its rows with its own message; the fatal ones stay fatal', async () => {
    s = await setup({}, { argv: { 'lookup-batch-size': 10, retries: 1 } });
    for (const e of emails(3)) s.authgear.addUser({ email: e });
    await s.open();
    s.authgear.setFaults({ routes: ['graphql'], errorEvery: 1 });
    const settled = await Promise.allSettled(lookups(s, emails(3)));
    expect(settled.map((r) => r.status === 'rejected' && (r.reason as { code: string }).code)).toEqual(['retries_exhausted', 'retries_exhausted', 'retries_exhausted']);
    expect(((settled[1] as PromiseRejectedResult).reason as Error).message).toMatch(/^look up email user1@acme\.example \(in a batch of 3\): .*look up 3 users by email: HTTP 500/);

    // A refused key is the run's end, not three row failures.
    s.authgear.setFaults({});
    s.authgear.revokeKey(s.authgear.keyId);
    const fatal = await Promise.allSettled(lookups(s, emails(3)));
    expect(fatal.map((r) => r.status === 'rejected' && `${(r.reason as { kind: string }).kind} ${(r.reason as { code: string }).code}`)).toEqual(Array(3).fill('fatal admin_key_refused'));
  });

  test.each(['bad-request', 'graphql-error'] as const)('a server that refuses batched documents (%s) gets single lookups for the rest of the run, said once', async (as) => {
    s = await setup({ queryFieldLimit: { max: 1, as } }, { argv: { 'lookup-batch-size': 10 } });
    const ids = emails(25).map((e) => s.authgear.addUser({ email: e }));
    await s.open();
    const before = s.authgear.graphqlRequests;
    expect((await Promise.all(lookups(s, emails(25).slice(0, 10)))).map((a) => a.id)).toEqual(ids.slice(0, 10));
    expect((await Promise.all(lookups(s, emails(25).slice(10)))).map((a) => a.id)).toEqual(ids.slice(10));
    // One refused batch, then 25 single lookups; no batch is tried again.
    expect(s.authgear.graphqlRequests - before).toBe(1 + 25);
    expect(batchBodies(s)).toHaveLength(1);
    const warnings = s.lines.filter((l) => l.includes('refused a batched lookup'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('too many query fields in one request: got 10, limit is 1');
    expect(warnings[0]).toContain('looking users up one at a time for the rest of this run');
  });

  test('--lookup-batch-size 1 sends one lookup per request, as before batching', async () => {
    s = await setup({}, { argv: { 'lookup-batch-size': 1 } });
    for (const e of emails(5)) s.authgear.addUser({ email: e });
    await s.open();
    expect(s.target.features.batchesLookups).toBe(false);
    const before = s.authgear.graphqlRequests;
    await Promise.all(lookups(s, emails(5)));
    expect(s.authgear.graphqlRequests - before).toBe(5);
    expect(batchBodies(s)).toHaveLength(0);
  });

  test('the largest batch of the longest values stays under the Admin API\'s 1 MiB body limit', () => {
    // The worst value the client lets through: 320 characters that JSON escapes or UTF-8 widens.
    const worst = `"\\€${'€'.repeat(317)}`;
    const values = Array.from({ length: MAX_LOOKUP_BATCH_SIZE }, () => worst);
    const body = Buffer.byteLength(JSON.stringify(batchRequest('email', values)));
    const estimate = BATCH_BASE_BYTES + values.reduce((n, v) => n + batchItemBytes(v), 0);
    expect(estimate).toBeGreaterThanOrEqual(body);
    expect(body).toBeLessThan(MAX_LOOKUP_BODY_BYTES);
  });
});
