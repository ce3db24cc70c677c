// Finding users with getUsersByStandardAttribute (exact, immediately consistent): none, one, or
// several; users who are disabled, deactivated or anonymized are left alone; the current picture
// is reported in the https form the tool will later record as `remote`.
import { outcomes, setup, type Setup } from './helpers.js';

let s: Setup;
afterEach(async () => {
  await s.target.close();
  await s.authgear.close();
  expect(s.authgear.server.errors).toEqual([]);
});

describe('authgear target: resolve()', () => {
  test('0 → user_not_found, several → ambiguous_user, disabled/deactivated/anonymized → user_deactivated', async () => {
    s = await setup();
    s.authgear.addUser({ email: 'ana@acme.example' });
    s.authgear.addUser({ email: 'bo@acme.example' });
    s.authgear.addUser({ email: 'bo.linked@acme.example', identities: [{ kind: 'oauth', email: 'bo@acme.example' }] });
    s.authgear.addUser({ email: 'cy@acme.example', disabled: true });
    s.authgear.addUser({ email: 'di@acme.example', deactivated: true });
    s.authgear.addUser({ email: 'ed@acme.example', anonymized: true });
    await s.open();
    const rows = ['ana@acme.example', 'ghost@acme.example', 'bo@acme.example', 'cy@acme.example', 'di@acme.example', 'ed@acme.example', 'not an email'];
    expect(await outcomes(rows.map((u) => s.target.resolve(u, undefined)))).toEqual([
      'ok', 'user_not_found', 'ambiguous_user', 'user_deactivated', 'user_deactivated', 'user_deactivated', 'invalid_user_id',
    ]);
    const ambiguous = await s.target.resolve('bo@acme.example', undefined).catch((e: Error) => e.message);
    expect(ambiguous).toMatch(/^2 Authgear users have email bo@acme\.example \(\S+, \S+\); none was changed$/);
    await expect(s.target.resolve('cy@acme.example', undefined)).rejects.toThrow('is disabled; left untouched');
    await expect(s.target.resolve('ed@acme.example', undefined)).rejects.toThrow('is anonymized; left untouched');
    // 'not an email' is refused before it is sent: a bad value in a batch would cost a re-send.
    expect(s.authgear.count('getUsersByStandardAttribute')).toBe(rows.length - 1 + 3);
    expect(s.authgear.count('updateUser')).toBe(0);
  });

  test('the account carries the node id, the picture in its https read-back form, and every attribute for apply()', async () => {
    s = await setup();
    const id = s.authgear.addUser({ email: 'ana@acme.example', standard: { name: 'Ana', picture: 'authgearimages:///myapp/old-object' } });
    const none = s.authgear.addUser({ email: 'bo@acme.example' });
    await s.open();
    const ana = await s.target.resolve('Ana@ACME.example', undefined); // normalised by the server
    expect(ana).toMatchObject({ user: 'Ana@ACME.example', id, current: `https://${new URL(s.authgear.url).host}/_images/myapp/old-object/profile` });
    expect((ana.state as { standardAttributes: object }).standardAttributes).toEqual(s.authgear.readAttributes(id));
    const bo = await s.target.resolve('bo@acme.example', undefined);
    expect(bo).toMatchObject({ id: none });
    expect(bo.current).toBeUndefined();
  });

  test.each([
    ['phone_number', { phone_number: '+85291234567' }, '+85291234567'],
    ['preferred_username', { preferred_username: 'ana' }, 'ANA'],
  ] as const)('--match-by %s looks the user up by that attribute', async (matchBy, init, value) => {
    s = await setup({}, { argv: { 'match-by': matchBy } });
    const id = s.authgear.addUser(init);
    await s.open();
    await expect(s.target.resolve(value, undefined)).resolves.toMatchObject({ id });
    expect(JSON.parse(s.authgear.graphql.at(-1)!.body).variables).toEqual({ name: matchBy, value });
  });

  test('emails are one user whatever their case (duplicate rows are caught by the pipeline)', async () => {
    s = await setup();
    expect(s.target.features.canonical!(' Ana@ACME.example ')).toBe('ana@acme.example');
    const phones = await setup({}, { argv: { 'match-by': 'phone_number' } });
    expect(phones.target.features.canonical!('+34600000001')).toBe('+34600000001');
    await phones.authgear.close();
  });
});
