// Finding users: ids are validated before any request, missing and deactivated users are reported,
// and bulk discovery makes a run cost a few list requests instead of one GET per row.
import { FakeSynapse } from '../../../testkit/servers/synapse.js';
import { outcomes, setup, type Setup } from './helpers.js';

let s: Setup;
afterEach(async () => {
  await s.synapse.close();
  expect(s.synapse.server.errors).toEqual([]); // the fake itself did not break
});

describe('matrix target: resolve()', () => {
  test('invalid Matrix ids fail as invalid_user_id without a request', async () => {
    s = await setup();
    await s.open();
    const before = s.synapse.server.requests.length;
    const ids = ['Ana@example.org', '@Ana:example.org', '@ana', '@an a:example.org', `@${'a'.repeat(250)}:example.org`, '@ana:bad_host!', '@ana:other.org'];
    expect(await outcomes(ids.map((id) => s.target.resolve(id, undefined)))).toEqual(ids.map(() => 'invalid_user_id'));
    expect(s.synapse.server.requests.length).toBe(before);
  });

  test('ids with every allowed localpart character are accepted', async () => {
    s = await setup();
    s.synapse.addUser('a.b_c=d-e/f+9');
    await s.open();
    await expect(s.target.resolve('@a.b_c=d-e/f+9:example.org', undefined)).resolves.toMatchObject({ user: '@a.b_c=d-e/f+9:example.org' });
  });

  test.each(['new', 'old'] as const)('%s Synapse: missing → user_not_found, deactivated or erased → user_deactivated, the current avatar is reported', async (release) => {
    s = await setup({ release });
    s.synapse.addUser('ana', { avatar_url: 'mxc://example.org/AnaOldAvatar' });
    s.synapse.addUser('bo');
    s.synapse.addUser('cy', { deactivated: true });
    s.synapse.addUser('di', { erased: true });
    await s.open();
    const ids = ['@ana:example.org', '@bo:example.org', '@cy:example.org', '@di:example.org', '@ghost:example.org'];
    expect(await outcomes(ids.map((id) => s.target.resolve(id, undefined)))).toEqual(['ok', 'ok', 'user_deactivated', 'user_deactivated', 'user_not_found']);
    await expect(s.target.resolve('@ana:example.org', undefined)).resolves.toEqual({ user: '@ana:example.org', current: 'mxc://example.org/AnaOldAvatar' });
    await expect(s.target.resolve('@bo:example.org', undefined)).resolves.toEqual({ user: '@bo:example.org' });
  });

  test('bulk discovery: 1200 users cost 3 list requests and no per-user GET', async () => {
    s = await setup({}, { deps: { pageSize: 500 } });
    const ids = Array.from({ length: 1200 }, (_, i) => s.synapse.addUser(`user${String(i).padStart(4, '0')}`, { avatar_url: `mxc://example.org/u${i}` }));
    await s.open();
    const before = s.synapse.server.count('admin_user_get');
    const accounts = await Promise.all(ids.map((id) => s.target.resolve(id, undefined)));
    expect(accounts[1199]).toEqual({ user: '@user1199:example.org', current: 'mxc://example.org/u1199' });
    expect(s.synapse.server.count('admin_users_list')).toBe(3);
    expect(s.synapse.server.count('admin_user_get')).toBe(before);
  });

  test('bulk discovery still reports deactivated users as deactivated, and asks once about a user not in the list', async () => {
    s = await setup();
    s.synapse.addUser('ana');
    s.synapse.addUser('cy', { deactivated: true });
    await s.open();
    const before = s.synapse.server.count('admin_user_get');
    expect(await outcomes(['@ana:example.org', '@cy:example.org', '@ghost:example.org'].map((id) => s.target.resolve(id, undefined))))
      .toEqual(['ok', 'user_deactivated', 'user_not_found']);
    expect(s.synapse.server.count('admin_users_list')).toBe(1);
    expect(s.synapse.server.count('admin_user_get') - before).toBe(1);
  });

  test('a server whose list entries carry no avatar_url (seed 003) is asked per user', async () => {
    s = await setup({ release: 'old' });
    const ids = ['ana', 'bo', 'cy'].map((u) => s.synapse.addUser(u, { avatar_url: `mxc://example.org/${u}` }));
    await s.open();
    const before = s.synapse.server.count('admin_user_get');
    const accounts = await Promise.all(ids.map((id) => s.target.resolve(id, undefined)));
    expect(accounts.map((a) => a.current)).toEqual(['mxc://example.org/ana', 'mxc://example.org/bo', 'mxc://example.org/cy']);
    expect(s.synapse.server.count('admin_users_list')).toBe(1);
    expect(s.synapse.server.count('admin_user_get') - before).toBe(3);
  });

  test('the list is fetched once even when many workers resolve at the same moment', async () => {
    s = await setup();
    const ids = Array.from({ length: 50 }, (_, i) => s.synapse.addUser(`u${i}`));
    await s.open();
    await Promise.all(ids.map((id) => s.target.resolve(id, undefined)));
    expect(s.synapse.server.count('admin_users_list')).toBe(1);
  });

  test('the fake follows seed 003: pages of `limit` with next_token, and total', async () => {
    const synapse = await FakeSynapse.start();
    s = { synapse } as Setup;
    for (let i = 0; i < 5; i++) synapse.addUser(`p${i}`);
    const res = await fetch(`${synapse.url}/_synapse/admin/v2/users?from=0&limit=4`, { headers: { authorization: `Bearer ${synapse.adminToken}` } });
    const body = (await res.json()) as { users: unknown[]; next_token?: string; total: number };
    expect(body.users).toHaveLength(4);
    expect(body.next_token).toBe('4');
    expect(body.total).toBe(6); // five users and the admin
    const last = (await (await fetch(`${synapse.url}/_synapse/admin/v2/users?from=4&limit=4`, { headers: { authorization: `Bearer ${synapse.adminToken}` } })).json()) as { next_token?: string };
    expect(last.next_token).toBeUndefined();
  });
});
