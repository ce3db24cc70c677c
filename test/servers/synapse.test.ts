// The fake Synapse answers byte for byte like the captures in the contract notes (§8) and the
// source-read behaviour (§1–§4), including the parts that are unkind to clients.
import { FakeSynapse, NGINX_413 } from '../../testkit/servers/synapse.js';

let synapse: FakeSynapse;
afterEach(() => synapse.close());

async function call(path: string, init: RequestInit & { token?: string | null } = {}) {
  const { token = synapse.adminToken, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  const res = await fetch(synapse.url + path, { ...rest, headers });
  return { status: res.status, statusText: res.statusText, headers: res.headers, text: await res.text() };
}
const user = (id: string) => encodeURIComponent(id);

describe('fake Synapse: authentication', () => {
  beforeEach(async () => { synapse = await FakeSynapse.start(); });

  test('401 bodies for a bad and a missing token, 403 for a non-admin on the admin API', async () => {
    expect(await call('/_matrix/client/v3/account/whoami', { token: 'nope' })).toMatchObject({
      status: 401, text: '{"errcode":"M_UNKNOWN_TOKEN","error":"Invalid access token passed.","soft_logout":false}',
    });
    expect(await call('/_matrix/client/v3/account/whoami', { token: null })).toMatchObject({
      status: 401, text: '{"errcode":"M_MISSING_TOKEN","error":"Missing access token"}',
    });
    const bob = synapse.login(synapse.addUser('bob'));
    expect(await call(`/_synapse/admin/v2/users/${user('@bob:example.org')}`, { token: bob })).toMatchObject({
      status: 403, text: '{"errcode":"M_FORBIDDEN","error":"You are not a server admin"}',
    });
  });

  test('server_version needs no token; JSON answers are application/json and chunked', async () => {
    const res = await call('/_synapse/admin/v1/server_version', { token: null });
    expect(res).toMatchObject({ status: 200, text: '{"server_version":"1.157.1"}' });
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
  });
});

describe('fake Synapse: users', () => {
  test('old release: 0/1 integer flags; unknown user 404 M_NOT_FOUND', async () => {
    synapse = await FakeSynapse.start({ release: 'old', serverName: 'localhost' });
    synapse.addUser('alice', { avatar_url: 'mxc://localhost/x' });
    const res = await call(`/_synapse/admin/v2/users/${user('@alice:localhost')}`);
    expect(JSON.parse(res.text)).toMatchObject({ name: '@alice:localhost', is_guest: 0, admin: 0, deactivated: 0, shadow_banned: 0, displayname: 'alice', avatar_url: 'mxc://localhost/x', threepids: [], external_ids: [] });
    expect(await call(`/_synapse/admin/v2/users/${user('@nobody:localhost')}`)).toMatchObject({ status: 404, text: '{"errcode":"M_NOT_FOUND","error":"User not found"}' });
  });

  test('new release: booleans, erased users have no profile', async () => {
    synapse = await FakeSynapse.start();
    synapse.addUser('gone', { erased: true });
    const res = JSON.parse((await call(`/_synapse/admin/v2/users/${user('@gone:example.org')}`)).text);
    expect(res).toMatchObject({ deactivated: true, erased: true, avatar_url: null, displayname: null });
  });

  test('the admin v2 PUT CREATES a missing user (201): the reason the importer never uses it', async () => {
    synapse = await FakeSynapse.start();
    const before = synapse.userCount;
    const res = await call(`/_synapse/admin/v2/users/${user('@nobody:example.org')}`, { method: 'PUT', body: '{"avatar_url":"mxc://example.org/a"}' });
    expect(res.status).toBe(201);
    expect(JSON.parse(res.text)).toMatchObject({ name: '@nobody:example.org', displayname: 'nobody', avatar_url: 'mxc://example.org/a' });
    expect(synapse.userCount).toBe(before + 1);
  });

  test('list-accounts: excludes deactivated users unless asked, pages with next_token', async () => {
    synapse = await FakeSynapse.start();
    synapse.addUser('a');
    synapse.addUser('z', { deactivated: true });
    const without = JSON.parse((await call('/_synapse/admin/v2/users')).text);
    expect(without.users.map((u: { name: string }) => u.name)).toEqual(['@a:example.org', '@admin:example.org']);
    const all = JSON.parse((await call('/_synapse/admin/v2/users?deactivated=true&limit=2')).text);
    expect(all).toMatchObject({ total: 3, next_token: '2' });
    expect(all.users[0]).toHaveProperty('avatar_url', null);
    expect((await call('/_synapse/admin/v2/users?deactivated=yes')).status).toBe(400);
  });
});

describe('fake Synapse: media', () => {
  test('an upload returns an mxc with the server_name, not the API host', async () => {
    synapse = await FakeSynapse.start();
    const res = await call('/_matrix/media/v3/upload?filename=test.jpg', { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: Buffer.from('jpeg') });
    expect(res.text).toMatch(/^\{"content_uri":"mxc:\/\/example\.org\/[A-Za-z0-9_-]{24}"\}$/);
    expect(synapse.uploads[0]).toMatchObject({ contentType: 'image/jpeg', filename: 'test.jpg' });
  });

  test('no Content-Length → 400; multipart → 415 with an empty body; too large → 413 M_TOO_LARGE', async () => {
    synapse = await FakeSynapse.start({ maxUploadSize: 4 });
    const chunked = new ReadableStream({ start(c) { c.enqueue(new Uint8Array([1, 2])); c.close(); } });
    expect(await call('/_matrix/media/v3/upload', { method: 'POST', body: chunked, duplex: 'half' } as RequestInit)).toMatchObject({
      status: 400, text: '{"errcode":"M_UNKNOWN","error":"Request must specify a Content-Length"}',
    });
    expect(await call('/_matrix/media/v3/upload', { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=x' }, body: 'x' })).toMatchObject({ status: 415, text: '' });
    expect(await call('/_matrix/media/v3/upload', { method: 'POST', body: Buffer.from('12345') })).toMatchObject({
      status: 413, text: '{"errcode":"M_TOO_LARGE","error":"Upload request body is too large"}',
    });
    expect(synapse.uploads).toHaveLength(0);
  });

  test('behind nginx, a big body gets an HTML 413', async () => {
    synapse = await FakeSynapse.start({ proxyMaxBodySize: 4 });
    expect(await call('/_matrix/media/v3/upload', { method: 'POST', body: Buffer.from('12345') })).toMatchObject({ status: 413, text: NGINX_413 });
  });

  test('media config: authenticated route on new servers, 400 M_UNRECOGNIZED on 1.67, legacy route on both', async () => {
    synapse = await FakeSynapse.start({ release: 'old', maxUploadSize: 1000 });
    expect(await call('/_matrix/client/v1/media/config')).toMatchObject({ status: 400, text: '{"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}' });
    expect(await call('/_matrix/media/v3/config')).toMatchObject({ status: 200, text: '{"m.upload.size":1000}' });
  });
});

describe('fake Synapse: the profile PUT', () => {
  test('200 {} even for a user that does not exist: an orphan profile row, no account', async () => {
    synapse = await FakeSynapse.start();
    const before = synapse.userCount;
    expect(await call(`/_matrix/client/v3/profile/${user('@ghost:example.org')}/avatar_url`, { method: 'PUT', body: '{"avatar_url":"mxc://example.org/a"}' })).toMatchObject({ status: 200, text: '{}' });
    expect(synapse.userCount).toBe(before);
    expect(synapse.avatarOf('@ghost:example.org')).toBe('mxc://example.org/a');
  });

  test("400 M_FORBIDDEN for a non-admin setting someone else's, 400 M_INVALID_PARAM for a non-string", async () => {
    synapse = await FakeSynapse.start();
    synapse.addUser('alice');
    const bob = synapse.login(synapse.addUser('bob'));
    expect(await call(`/_matrix/client/v3/profile/${user('@alice:example.org')}/avatar_url`, { method: 'PUT', token: bob, body: '{"avatar_url":"mxc://x/y"}' })).toMatchObject({
      status: 400, text: `{"errcode":"M_FORBIDDEN","error":"Cannot set another user's avatar_url"}`,
    });
    expect(await call(`/_matrix/client/v3/profile/${user('@alice:example.org')}/avatar_url`, { method: 'PUT', body: '{"avatar_url":5}' })).toMatchObject({
      status: 400, text: `{"errcode":"M_INVALID_PARAM","error":"'avatar_url' must be a string"}`,
    });
  });

  test.each([
    ['old', '429 Unknown Status', false],
    ['new', '429 Too Many Requests', true],
  ] as const)('%s release: the 11th quick change answers "%s" after writing (Retry-After header: %s)', async (release, statusLine, header) => {
    synapse = await FakeSynapse.start({ release, rateLimitPauseMs: 0 });
    const alice = synapse.addUser('alice');
    const put = (n: number) => call(`/_matrix/client/v3/profile/${user(alice)}/avatar_url`, { method: 'PUT', body: JSON.stringify({ avatar_url: `mxc://example.org/${n}` }) });
    for (let n = 1; n <= 10; n++) expect((await put(n)).status).toBe(200);
    const limited = await put(11);
    expect(`${limited.status} ${limited.statusText}`).toBe(statusLine);
    expect(limited.text).toMatch(/^\{"errcode":"M_LIMIT_EXCEEDED","error":"Too Many Requests","retry_after_ms":\d+\}$/);
    const { retry_after_ms: ms } = JSON.parse(limited.text) as { retry_after_ms: number };
    expect(ms).toBeGreaterThan(4000); // rc_message: 0.2/s
    expect(limited.headers.get('retry-after')).toBe(header ? String(Math.ceil(ms / 1000)) : null);
    expect(synapse.avatarOf(alice)).toBe('mxc://example.org/11'); // written before the limiter said no
  });

  test('overriding the rate limit for a user (override_ratelimit with zeros) lifts it', async () => {
    synapse = await FakeSynapse.start({ rateLimitPauseMs: 0 });
    const alice = synapse.addUser('alice');
    expect((await call(`/_synapse/admin/v1/users/${user(alice)}/override_ratelimit`, { method: 'POST', body: '{"messages_per_second":0,"burst_count":0}' })).status).toBe(200);
    for (let n = 1; n <= 15; n++) {
      expect((await call(`/_matrix/client/v3/profile/${user(alice)}/avatar_url`, { method: 'PUT', body: JSON.stringify({ avatar_url: `mxc://example.org/${n}` }) })).status).toBe(200);
    }
  });
});

describe('fake Synapse: unknown routes', () => {
  test('404 and 405 M_UNRECOGNIZED', async () => {
    synapse = await FakeSynapse.start();
    expect(await call('/_matrix/client/v3/nothing')).toMatchObject({ status: 404, text: '{"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}' });
    expect((await call('/_matrix/media/v3/upload')).status).toBe(405);
  });
});
