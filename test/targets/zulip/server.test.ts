// The fake Zulip itself keeps to the contract (../shared/targets/zulip.md, seed 001): if it were
// kinder than the real server, the target's tests would prove nothing. Raw HTTP, no target.
import { SignJWT } from 'jose';
import sharp from 'sharp';
import { FakeZulip } from '../../../testkit/servers/zulip.js';

let zulip: FakeZulip;
afterEach(async () => {
  await zulip.close();
  expect(zulip.server.errors).toEqual([]);
});

const basic = (email: string, key: string) => `Basic ${Buffer.from(`${email}:${key}`).toString('base64')}`;
const jpeg = () => sharp({ create: { width: 32, height: 32, channels: 3, background: 'red' } }).jpeg().toBuffer();

function multipart(parts: { name: string; filename?: string; type?: string; bytes: Buffer }[]) {
  const boundary = 'XyZ123';
  const chunks: Buffer[] = [];
  for (const p of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"` : ''}\r\n${p.type ? `Content-Type: ${p.type}\r\n` : ''}\r\n`), p.bytes, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), type: `multipart/form-data; boundary=${boundary}` };
}

async function upload(email: string, key: string, parts: Parameters<typeof multipart>[0]) {
  const { body, type } = multipart(parts);
  const res = await fetch(`${zulip.url}/api/v1/users/me/avatar`, { method: 'POST', headers: { authorization: basic(email, key), 'content-type': type, accept: 'application/json' }, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

describe('fake Zulip: the contract', () => {
  test('zero or two files: the seed\'s BAD_REQUEST body; one valid JPEG bumps avatar_version', async () => {
    zulip = await FakeZulip.start();
    const ana = zulip.addUser('ana@corp.example');
    const key = ana.apiKey;
    expect(await upload(ana.email, key, [{ name: 'note', bytes: Buffer.from('x') }])).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST', msg: 'You must upload exactly one avatar.', result: 'error' } });
    const image = await jpeg();
    expect((await upload(ana.email, key, [{ name: 'a', filename: 'a.jpg', type: 'image/jpeg', bytes: image }, { name: 'b', filename: 'b.jpg', type: 'image/jpeg', bytes: image }])).body).toEqual({ code: 'BAD_REQUEST', msg: 'You must upload exactly one avatar.', result: 'error' });
    const ok = await upload(ana.email, key, [{ name: 'file', filename: 'avatar.jpg', type: 'image/jpeg', bytes: image }]);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ result: 'success', msg: '', avatar_url: expect.stringMatching(/^\/user_avatars\/2\/[0-9a-f]{40}\.png$/) });
    expect(ana.avatarVersion).toBe(2);
    expect(ok.headers.get('x-ratelimit-limit')).toBe('200');
  });

  test('type from filename and part, then a real decode: BAD_IMAGE with the server\'s messages', async () => {
    zulip = await FakeZulip.start();
    const ana = zulip.addUser('ana@corp.example');
    const image = await jpeg();
    const send = (filename: string, type: string | undefined, bytes: Buffer) => upload(ana.email, ana.apiKey, [{ name: 'file', filename, ...(type ? { type } : {}), bytes }]);
    expect((await send('avatar.bmp', 'image/jpeg', image)).body).toMatchObject({ code: 'BAD_IMAGE', msg: 'Invalid image format' });
    expect((await send('avatar.jpg', 'application/octet-stream', image)).body).toMatchObject({ code: 'BAD_IMAGE', msg: 'Invalid image format' });
    expect((await send('avatar.jpg', 'image/jpeg', Buffer.from('not an image at all'))).body).toMatchObject({ code: 'BAD_IMAGE', msg: 'Could not decode image; did you upload an image file?' });
    expect((await send('avatar.jpg', 'image/jpeg', image.subarray(0, image.length - 40))).body).toMatchObject({ code: 'BAD_IMAGE' });
    expect(ana.avatarVersion).toBe(1);
  });

  test('size limit (strictly greater fails) and the restriction for non-admins only', async () => {
    zulip = await FakeZulip.start({ maxAvatarFileSizeMib: 1, realmAvatarChangesDisabled: true });
    const ana = zulip.addUser('ana@corp.example');
    const image = await jpeg();
    expect((await upload(ana.email, ana.apiKey, [{ name: 'file', filename: 'avatar.jpg', type: 'image/jpeg', bytes: image }])).body).toEqual({ code: 'BAD_REQUEST', msg: 'Avatar changes are disabled in this organization.', result: 'error' });
    const big = Buffer.concat([image, Buffer.alloc(1024 * 1024 + 1 - image.length)]);
    expect((await upload(zulip.admin.email, zulip.admin.apiKey, [{ name: 'file', filename: 'avatar.jpg', type: 'image/jpeg', bytes: big }])).body).toEqual({ code: 'BAD_REQUEST', msg: 'Uploaded file is larger than the allowed limit of 1 MiB', result: 'error' });
    expect((await upload(zulip.admin.email, zulip.admin.apiKey, [{ name: 'file', filename: 'avatar.jpg', type: 'image/jpeg', bytes: image }])).status).toBe(200);
  });

  test('Basic auth: a key with another user\'s email, a malformed key, no header, a browser Accept', async () => {
    zulip = await FakeZulip.start();
    const ana = zulip.addUser('ana@corp.example');
    const bo = zulip.addUser('bo@corp.example');
    const get = (headers: Record<string, string>) => fetch(`${zulip.url}/api/v1/users/me`, { headers, redirect: 'manual' });
    const wrong = await get({ authorization: basic(bo.email, ana.apiKey), accept: 'application/json' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toBe('Basic realm="zulip"');
    expect(await wrong.json()).toEqual({ result: 'error', msg: 'Invalid API key', code: 'UNAUTHORIZED' });
    expect(await (await get({ authorization: basic(ana.email, 'short') })).json()).toMatchObject({ code: 'UNAUTHORIZED', msg: 'Malformed API key' });
    expect(await (await get({ accept: 'application/json' })).json()).toMatchObject({ code: 'UNAUTHORIZED', msg: 'Not logged in: API authentication or user session required' });
    expect((await get({ accept: 'text/html' })).status).toBe(302);
    const ok = await get({ authorization: basic('ANA@corp.EXAMPLE', ana.apiKey) });
    expect(await ok.json()).toMatchObject({ user_id: ana.userId, delivery_email: 'ana@corp.example', avatar_version: 1 });
    zulip.deactivate(ana.email);
    expect(await (await get({ authorization: basic(ana.email, ana.apiKey) })).json()).toMatchObject({ code: 'UNAUTHORIZED', msg: 'Account is deactivated' });
  });

  test('per-user 429 with a fractional Retry-After header and body', async () => {
    zulip = await FakeZulip.start({ userRateLimit: { requests: 2, windowMs: 60_000 } });
    const ana = zulip.addUser('ana@corp.example');
    const bo = zulip.addUser('bo@corp.example');
    const me = (u: { email: string; apiKey: string }) => fetch(`${zulip.url}/api/v1/users/me`, { headers: { authorization: basic(u.email, u.apiKey) } });
    await me(ana);
    await me(ana);
    const limited = await me(ana);
    expect(limited.status).toBe(429);
    const body = (await limited.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ result: 'error', code: 'RATE_LIMIT_HIT' });
    expect(Number(limited.headers.get('retry-after'))).toBe(body['retry-after']);
    expect((await me(bo)).status).toBe(200); // buckets are per user
    zulip.limitNext(bo.email, 1, 0.5);
    const forced = await me(bo);
    expect(forced.headers.get('retry-after')).toBe('0.5');
  });

  test('GET /users: client_gravatar defaults to true; admins see delivery_email except "nobody"; members see dummies', async () => {
    zulip = await FakeZulip.start();
    zulip.addUser('ana@corp.example');
    zulip.addUser('hid@corp.example', { emailVisibility: 'nobody' });
    const bo = zulip.addUser('bo@corp.example');
    const list = async (u: { email: string; apiKey: string }, query = '') =>
      ((await (await fetch(`${zulip.url}/api/v1/users${query}`, { headers: { authorization: basic(u.email, u.apiKey) } })).json()) as { members: Record<string, unknown>[] }).members;
    const byAdmin = await list(zulip.admin);
    expect(byAdmin.find((m) => m.delivery_email === 'ana@corp.example')).toMatchObject({ email: expect.stringMatching(/^user\d+@chat\.example\.com$/), avatar_url: null });
    expect(byAdmin.filter((m) => m.delivery_email === null)).toHaveLength(1);
    expect((await list(zulip.admin, '?client_gravatar=false')).every((m) => typeof m.avatar_url === 'string')).toBe(true);
    expect((await list(bo)).filter((m) => m.delivery_email !== null).map((m) => m.delivery_email)).toEqual(['bo@corp.example']);
  });

  test('jwt/fetch_api_key verifies HS256 against the configured secret', async () => {
    zulip = await FakeZulip.start({ jwtSecret: 's3cret-s3cret-s3cret' });
    const ana = zulip.addUser('ana@corp.example');
    const fetchKey = async (claims: Record<string, unknown>, secret: string) => {
      const token = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
      const res = await fetch(`${zulip.url}/api/v1/jwt/fetch_api_key`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token }).toString() });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    expect(await fetchKey({ email: 'ANA@corp.example' }, 's3cret-s3cret-s3cret')).toEqual({ status: 200, body: { result: 'success', msg: '', api_key: ana.apiKey, email: 'ana@corp.example' } });
    expect(await fetchKey({ email: 'ana@corp.example' }, 'another-secret-entirely')).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST', msg: 'Bad JSON web token' } });
    expect(await fetchKey({ sub: 'ana' }, 's3cret-s3cret-s3cret')).toMatchObject({ status: 400, body: { msg: 'No email specified in JSON web token claims' } });
    expect(await fetchKey({ email: 'ghost@corp.example' }, 's3cret-s3cret-s3cret')).toMatchObject({ status: 401, body: { code: 'AUTHENTICATION_FAILED' } });
    zulip.deactivate(ana.email);
    expect(await fetchKey({ email: 'ana@corp.example' }, 's3cret-s3cret-s3cret')).toMatchObject({ status: 401, body: { code: 'USER_DEACTIVATED' } });
    expect(zulip.jwtFetches).toEqual(['ana@corp.example']);
  });

  test('DELETE /users/me/avatar: back to the default with avatar_version + 1; from FL 443 only for an upload (idempotent), before on every call; refused when restricted', async () => {
    const del = async (email: string, key: string) => {
      const res = await fetch(`${zulip.url}/api/v1/users/me/avatar`, { method: 'DELETE', headers: { authorization: basic(email, key), accept: 'application/json' } });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    zulip = await FakeZulip.start({ version: '12.0', featureLevel: 466, defaultAvatarSource: 'J' });
    const ana = zulip.addUser('ana@corp.example');
    expect(await upload(ana.email, ana.apiKey, [{ name: 'file', filename: 'avatar.jpg', type: 'image/jpeg', bytes: await jpeg() }])).toMatchObject({ status: 200 });
    expect(ana.avatarVersion).toBe(2);
    const first = await del(ana.email, ana.apiKey);
    // The organisation's default (Jdenticon here) lives under /user_avatars/ like an upload.
    expect(first).toEqual({ status: 200, body: { result: 'success', msg: '', avatar_url: expect.stringMatching(/^\/user_avatars\/2\/[0-9a-f]{40}\.png$/) } });
    expect([ana.avatarSource, ana.avatarVersion]).toEqual(['J', 3]);
    expect((await del(ana.email, ana.apiKey)).status).toBe(200);
    expect(ana.avatarVersion).toBe(3);
    await zulip.close();

    zulip = await FakeZulip.start(); // 11.4, FL 421
    const bo = zulip.addUser('bo@corp.example');
    const answer = await del(bo.email, bo.apiKey);
    expect(answer.body.avatar_url).toMatch(/^https:\/\/secure\.gravatar\.com\/avatar\/[0-9a-f]{32}\?d=identicon&version=2$/);
    expect([bo.avatarSource, bo.avatarVersion]).toEqual(['G', 2]);
    zulip.realmAvatarChangesDisabled = true;
    expect(await del(bo.email, bo.apiKey)).toEqual({ status: 400, body: { result: 'error', code: 'BAD_REQUEST', msg: 'Avatar changes are disabled in this organization.' } });
    expect((await del(zulip.admin.email, zulip.admin.apiKey)).status).toBe(200);
  });

  test('/user_avatars/: every version\'s 100 px and 500 px PNGs and the original, with no authentication; old versions stay; a missing file is Django\'s 404', async () => {
    zulip = await FakeZulip.start();
    const ana = zulip.addUser('ana@corp.example');
    const image = await sharp({ create: { width: 800, height: 600, channels: 3, background: 'blue' } }).jpeg().toBuffer();
    const first = await upload(ana.email, ana.apiKey, [{ name: 'file', filename: 'avatar.jpg', type: 'image/jpeg', bytes: image }]);
    const url = first.body.avatar_url as string;
    await upload(ana.email, ana.apiKey, [{ name: 'file', filename: 'avatar.jpg', type: 'image/jpeg', bytes: await jpeg() }]);

    const small = await fetch(zulip.url + url);
    expect(small.status).toBe(200);
    expect(small.headers.get('content-type')).toBe('image/png');
    expect(small.headers.get('cache-control')).toBe('max-age=31536000, public, immutable');
    expect(await sharp(Buffer.from(await small.arrayBuffer())).metadata()).toMatchObject({ format: 'png', width: 100, height: 100 });
    const medium = await fetch(zulip.url + url.replace(/\.png$/, '-medium.png'));
    expect(await sharp(Buffer.from(await medium.arrayBuffer())).metadata()).toMatchObject({ format: 'png', width: 500, height: 500 });
    const original = await fetch(zulip.url + url.replace(/\.png$/, '.original'));
    expect(Buffer.from(await original.arrayBuffer()).equals(image)).toBe(true);
    const missing = await fetch(`${zulip.url}/user_avatars/2/${'0'.repeat(40)}.png`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe('<p>File not found</p>');
  });

  test('with the S3 backend: avatar_url is absolute in the bucket, /user_avatars/ redirects there (301), a missing key is S3\'s 403', async () => {
    zulip = await FakeZulip.start({ avatarStorage: 's3' });
    const ana = zulip.addUser('ana@corp.example');
    const url = (await upload(ana.email, ana.apiKey, [{ name: 'file', filename: 'avatar.jpg', type: 'image/jpeg', bytes: await jpeg() }])).body.avatar_url as string;
    expect(url).toMatch(new RegExp(`^${zulip.url}/s3-avatars/2/[0-9a-f]{40}\\.png$`));
    const path = url.slice(`${zulip.url}/s3-avatars/`.length);
    const redirect = await fetch(`${zulip.url}/user_avatars/${path}`, { redirect: 'manual' });
    expect([redirect.status, redirect.headers.get('location')]).toEqual([301, url]);
    expect((await fetch(url)).status).toBe(200);
    const missing = await fetch(`${zulip.url}/s3-avatars/2/${'0'.repeat(40)}.png`);
    expect(missing.status).toBe(403);
    expect(await missing.text()).toContain('<Code>AccessDenied</Code>');
  });
});
