// The fake Authgear itself follows the contract notes, so that a target passing against it would
// pass against the real server: it is never kinder. These tests speak raw HTTP to it.
import { createPrivateKey, createSign } from 'node:crypto';
import { FakeAuthgear, MAX_UPLOAD_BYTES, nodeId } from '../../../testkit/servers/authgear.js';
import { wallClock } from './helpers.js';

let fake: FakeAuthgear;
afterEach(async () => {
  await fake.close();
  expect(fake.server.errors).toEqual([]);
});

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A JWT signed by hand (node:crypto), so that each claim can be wrong on purpose. */
function jwt(pem: string, header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const input = `${b64({ alg: 'RS256', typ: 'JWT', ...header })}.${b64(claims)}`;
  const signature = createSign('sha256').update(input).sign(createPrivateKey(pem)).toString('base64url');
  return `${input}.${signature}`;
}

function good(overrides: { header?: Record<string, unknown>; claims?: Record<string, unknown>; pem?: string } = {}): string {
  const now = Math.floor(Date.now() / 1000);
  return jwt(overrides.pem ?? fake.privateKeyPem, { kid: fake.keyId, ...overrides.header }, { aud: fake.projectId, iat: now, exp: now + 300, ...overrides.claims });
}

async function gql(token: string, query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(`${fake.url}/_api/admin/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: (await res.json()) as { data?: any; errors?: any[] } };
}

const UPDATE = 'mutation($id: ID!, $sa: UserStandardAttributes, $ca: UserCustomAttributes) { updateUser(input: {userID: $id, standardAttributes: $sa, customAttributes: $ca}) { user { id standardAttributes customAttributes } } }';
const READ = 'query($id: ID!) { node(id: $id) { ... on User { id updatedAt standardAttributes customAttributes } } }';

function multipart(parts: { name: string; filename?: string; type?: string; body: Buffer }[], boundary = 'XyZ'): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename === undefined ? '' : `; filename="${p.filename}"`}`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${p.type ? `Content-Type: ${p.type}\r\n` : ''}\r\n`), p.body, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

async function presign(token = good()): Promise<string> {
  const res = await fetch(`${fake.url}/_api/admin/images/upload`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { result: { upload_url: string } }).result.upload_url;
}

const post = (url: string, body: Buffer, type = 'multipart/form-data; boundary=XyZ') =>
  fetch(url, { method: 'POST', headers: { 'content-type': type }, body }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

describe('fake authgear: the Admin API JWT', () => {
  test('accepts a good token and refuses every wrong one with 403 text/plain Forbidden', async () => {
    fake = await FakeAuthgear.start();
    const other = FakeAuthgear.generateKey().privateKeyPem;
    const now = Math.floor(Date.now() / 1000);
    expect((await gql(good(), '{ __typename }')).body).toEqual({ data: { __typename: 'Query' } });
    const refused = [
      good({ pem: other }), // signed with another key
      good({ header: { kid: 'not-the-key-id' } }),
      good({ header: { kid: undefined } }),
      good({ header: { alg: 'RS512' } }),
      good({ claims: { aud: 'other-project' } }),
      good({ claims: { aud: undefined } }),
      good({ claims: { exp: now - 310 } }), // past the 5 min skew
      good({ claims: { exp: undefined } }),
      good({ claims: { iat: now + 310 } }),
      good().slice(0, -4) + 'AAAA', // tampered signature
    ];
    for (const token of refused) {
      const res = await fetch(`${fake.url}/_api/admin/graphql`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
      expect(res.status).toBe(403);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await res.text()).toBe('Forbidden\n');
    }
    // The header regex is case-sensitive and wants exactly one space.
    for (const header of [`bearer ${good()}`, `Bearer  ${good()}`, good()]) {
      const res = await fetch(`${fake.url}/_api/admin/images/upload`, { headers: { authorization: header } });
      expect(res.status).toBe(403);
    }
    expect(fake.images.size).toBe(0);
  });

  test('an array audience containing the project passes; the images route is guarded too', async () => {
    fake = await FakeAuthgear.start();
    expect((await gql(good({ claims: { aud: ['x', fake.projectId] } }), '{ __typename }')).status).toBe(200);
    expect((await fetch(`${fake.url}/_api/admin/images/upload`)).status).toBe(403);
  });
});

describe('fake authgear: presigned uploads', () => {
  test('the URL is HMAC-signed, works once, and stores one file with its own content type', async () => {
    fake = await FakeAuthgear.start();
    const url = await presign();
    expect(url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/_images/myapp/[0-9a-f-]{36}\\?x-authgear-metadata=`));
    expect(url).toContain('x-authgear-expires=900');
    expect(url).toContain('x-authgear-date=2'); // colons percent-encoded, as Go's url.Values does
    expect(url).toContain('%3A');
    const body = multipart([{ name: 'file', filename: 'a.jpg', type: 'image/jpeg', body: Buffer.from('jpeg') }]);
    const first = await post(url, body);
    expect(first).toEqual({ status: 200, body: { result: { url: expect.stringMatching(/^authgearimages:\/\/\/myapp\/[0-9a-f-]{36}$/) } } });
    expect([...fake.images.values()][0]).toMatchObject({ contentType: 'image/jpeg', filename: 'a.jpg', metadata: { uploaded_by: 'admin_api' } });
    const again = await post(url, body);
    expect(again).toEqual({ status: 409, body: { error: expect.objectContaining({ name: 'AlreadyExists', reason: 'DuplicatedImage' }) } });
    expect(fake.images.size).toBe(1);
  });

  test('signature, expiry, content type and multipart rules are enforced in the real order', async () => {
    const clock = wallClock();
    fake = await FakeAuthgear.start({ now: clock.now });
    const token = () => good({ claims: { iat: Math.floor(clock.now() / 1000), exp: Math.floor(clock.now() / 1000) + 300 } });
    const file = (name = 'file', filename: string | null = 'a.jpg') => multipart([{ name, ...(filename === null ? {} : { filename }), type: 'image/jpeg', body: Buffer.from('jpeg') }]);
    const reason = async (url: string, body: Buffer, type?: string) => {
      const r = await post(url, body, type);
      return `${r.status} ${r.body.error.reason}: ${r.body.error.message}`;
    };

    const url = await presign(token());
    expect(await reason(url.replace(/x-authgear-signature=[0-9a-f]+/, 'x-authgear-signature=00'), file())).toBe('400 InvalidSignature: invalid signature');
    expect(await reason(url.replace(/&x-authgear-date=[^&]+/, ''), file())).toBe('400 InvalidSignatureQueryParam: invalid signature query param');
    expect(await reason(url.replace(/\/_images\/myapp\/[^?]+/, '/_images/myapp/00000000-0000-0000-0000-000000000000'), file())).toBe('400 InvalidSignature: invalid signature');
    expect(await reason(url, file(), 'application/octet-stream')).toBe('400 Invalid: invalid content-type');
    expect(await reason(url, file(), 'multipart/form-data')).toBe('400 Invalid: invalid boundary');
    expect(await reason(url, file('file', null))).toBe('400 Invalid: expected exactly 1 file part'); // no filename: not a file
    expect(await reason(url, multipart([{ name: 'file', filename: 'a', body: Buffer.from('a') }, { name: 'file', filename: 'b', body: Buffer.from('b') }]))).toBe('400 Invalid: expected exactly 1 file part');
    expect(await reason(url, file('picture'))).toBe('400 Invalid: invalid file field');
    expect(await reason(url, multipart([{ name: 'file', filename: 'a', body: Buffer.alloc(0) }]))).toBe('400 BadRequest: asset too large');
    expect(await reason(url, multipart([{ name: 'file', filename: 'a', body: Buffer.alloc(MAX_UPLOAD_BYTES + 1) }]))).toBe('400 BadRequest: asset too large');
    expect(fake.images.size).toBe(0);
    // Exactly 10 MiB is fine.
    expect((await post(url, multipart([{ name: 'file', filename: 'a', body: Buffer.alloc(MAX_UPLOAD_BYTES, 1) }]))).status).toBe(200);

    const late = await presign(token());
    clock.advance(901_000);
    expect(await reason(late, file())).toBe('400 ExpiredSignature: expired signature');
  });
});

describe('fake authgear: GraphQL', () => {
  test('updateUser replaces the whole object: omitted keys are deleted, derived ones stripped, identity ones re-populated', async () => {
    fake = await FakeAuthgear.start();
    const id = fake.addUser({ email: 'ana@acme.example', standard: { name: 'Ana Ortiz', given_name: 'Ana', locale: 'es' }, custom: { team: 'hr' } });
    const read = await gql(good(), READ, { id });
    expect(read.body.data.node.standardAttributes).toEqual({
      email: 'ana@acme.example', email_verified: true, name: 'Ana Ortiz', given_name: 'Ana', locale: 'es', updated_at: expect.any(Number),
    });
    // Only a picture: name, given_name and locale are gone, email comes back from the identity.
    const res = await gql(good(), UPDATE, { id, sa: { picture: 'https://cdn.example/x.jpg', email_verified: false, updated_at: 1 } });
    expect(res.body.errors).toBeUndefined();
    expect(fake.user(id).standard).toEqual({ email: 'ana@acme.example', picture: 'https://cdn.example/x.jpg' });
    expect(fake.user(id).custom).toEqual({ team: 'hr' }); // omitted: untouched
    await gql(good(), UPDATE, { id, sa: { picture: 'https://cdn.example/x.jpg' }, ca: {} });
    expect(fake.user(id).custom).toEqual({}); // {} wipes
  });

  test('authgearimages pictures read back in their https form through the request host', async () => {
    fake = await FakeAuthgear.start();
    const id = fake.addUser({ email: 'ana@acme.example', standard: { picture: 'authgearimages:///myapp/abc' } });
    const read = await gql(good(), READ, { id });
    expect(read.body.data.node.standardAttributes.picture).toBe(`https://${new URL(fake.url).host}/_images/myapp/abc/profile`);
    // Echoing the https form back through the same host stores the managed form again.
    await gql(good(), UPDATE, { id, sa: read.body.data.node.standardAttributes });
    expect(fake.user(id).standard.picture).toBe('authgearimages:///myapp/abc');
  });

  test('errors are HTTP 200 with extensions.errorName/reason, and roll the request back', async () => {
    fake = await FakeAuthgear.start();
    const id = fake.addUser({ email: 'ana@acme.example', standard: { name: 'Ana' } });
    const cases: [Record<string, unknown>, string][] = [
      [{ id: 'not-a-node', sa: {} }, 'Invalid/Invalid'],
      [{ id: nodeId('00000000-0000-4000-8000-000000000000'), sa: {} }, 'NotFound/UserNotFound'],
      [{ id, sa: { picture: 'ftp://x/y' } }, 'Invalid/ValidationFailed'],
      [{ id, sa: { picture: 'authgearimages://host/app/obj' } }, 'Invalid/ValidationFailed'],
      [{ id, sa: { picture: 'https://cdn.example/a/../b' } }, 'Invalid/ValidationFailed'],
      [{ id, sa: { favourite_colour: 'blue' } }, 'Invalid/ValidationFailed'],
      [{ id, sa: { name: 42 } }, 'Invalid/ValidationFailed'],
      [{ id, sa: { email: 'someone.else@acme.example' } }, 'unexpected error'],
    ];
    for (const [variables, expected] of cases) {
      const res = await gql(good(), UPDATE, variables);
      expect(res.status).toBe(200);
      expect(res.body.data).toBeNull();
      const [error] = res.body.errors!;
      expect(error.extensions ? `${error.extensions.errorName}/${error.extensions.reason}` : error.message).toBe(expected);
    }
    const invalid = await gql(good(), UPDATE, { id, sa: { picture: 'ftp://x/y' } });
    expect(invalid.body.errors![0].extensions.info.causes).toEqual([{ location: '/picture', kind: 'format', details: { format: 'x_picture', error: 'invalid scheme: ftp' } }]);
    fake.hook = { reject: true };
    const hooked = await gql(good(), UPDATE, { id, sa: { name: 'Changed' } });
    expect(hooked.body.errors![0].extensions).toMatchObject({ errorName: 'Forbidden', reason: 'HookDisallowed' });
    expect(fake.user(id).standard).toEqual({ email: 'ana@acme.example', name: 'Ana' });
  });

  test('lookups are exact, normalised, and may find several users; a bad value is GetUsersInvalidArgument', async () => {
    fake = await FakeAuthgear.start();
    fake.addUser({ email: 'Ana@Acme.example' });
    fake.addUser({ email: 'bo@acme.example' });
    fake.addUser({ email: 'bo2@acme.example', identities: [{ kind: 'oauth', email: 'bo@acme.example' }] });
    const q = 'query($n: String!, $v: String!) { getUsersByStandardAttribute(attributeName: $n, attributeValue: $v) { id } }';
    expect((await gql(good(), q, { n: 'email', v: 'ana@acme.example' })).body.data.getUsersByStandardAttribute).toHaveLength(1);
    expect((await gql(good(), q, { n: 'email', v: 'an@acme.example' })).body.data.getUsersByStandardAttribute).toHaveLength(0);
    expect((await gql(good(), q, { n: 'email', v: 'bo@acme.example' })).body.data.getUsersByStandardAttribute).toHaveLength(2);
    expect((await gql(good(), q, { n: 'email', v: 'not an email' })).body.errors![0].extensions.reason).toBe('GetUsersInvalidArgument');
    expect((await gql(good(), q, { n: 'nickname', v: 'x' })).body.errors![0].extensions.reason).toBe('GetUsersInvalidArgument');
  });

  test('queries are validated: unknown fields, missing variables, and more than 5 mutations (a 400)', async () => {
    fake = await FakeAuthgear.start();
    expect((await gql(good(), '{ node(id: "x") { ... on User { favouriteColour } } }')).body.errors![0].message).toBe('Cannot query field "favouriteColour" on type "User".');
    expect((await gql(good(), READ, {})).body.errors![0].message).toBe('Variable "$id" of required type "ID!" was not provided.');
    const six = `mutation { ${Array.from({ length: 6 }, (_, i) => `u${i}: updateUser(input: {userID: "x"}) { user { id } }`).join(' ')} }`;
    const res = await gql(good(), six);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { name: 'BadRequest', message: 'too many mutation fields in one request: got 6, limit is 5' } });
    const wrongType = await fetch(`${fake.url}/_api/admin/graphql`, { method: 'POST', headers: { authorization: `Bearer ${good()}`, 'content-type': 'text/plain' }, body: '{}' });
    expect(wrongType.status).toBe(415);
  });

  test('aliased lookups answer each under its alias, keys sorted as Go writes maps', async () => {
    fake = await FakeAuthgear.start();
    const ana = fake.addUser({ email: 'ana@acme.example' });
    const q = '{ u1: getUsersByStandardAttribute(attributeName: "email", attributeValue: "ana@acme.example") { id }\n'
      + '  u0: getUsersByStandardAttribute(attributeName: "email", attributeValue: "ghost@acme.example") { id } }';
    const res = await gql(good(), q);
    expect(res.body).toEqual({ data: { u0: [], u1: [{ id: ana }] } });
    expect(Object.keys(res.body.data)).toEqual(['u0', 'u1']);
    expect(fake.count('getUsersByStandardAttribute')).toBe(2);
  });

  test('null propagation: one failing alias nulls the whole data and is the only error reported, named by its path', async () => {
    fake = await FakeAuthgear.start();
    fake.addUser({ email: 'ana@acme.example' });
    const field = (alias: string, value: string) => `${alias}: getUsersByStandardAttribute(attributeName: "email", attributeValue: ${JSON.stringify(value)}) { id }`;
    const one = await gql(good(), `{\n  ${field('u0', 'ana@acme.example')}\n  ${field('u1', 'not an email')}\n  ${field('u2', 'ana@acme.example')}\n}`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual({
      data: null,
      errors: [{ message: 'invalid attributeValue', locations: [{ line: 3, column: 3 }], path: ['u1'], extensions: { errorName: 'Invalid', reason: 'GetUsersInvalidArgument' } }],
    });
    // Two failing aliases: graphql-go stops at the first it runs (a Go map's order), so only one
    // of them is named; the client must send the other rows again to learn about them.
    const two = await gql(good(), `{ ${field('a', 'bad one')} ${field('b', 'ana@acme.example')} ${field('c', 'bad two')} }`);
    expect(two.body.data).toBeNull();
    expect(two.body.errors).toHaveLength(1);
    expect(['a', 'c']).toContain(two.body.errors![0].path[0]);
  });

  test('a document-level error has no path and no data; a body over 1 MiB is refused with 413', async () => {
    fake = await FakeAuthgear.start();
    const res = await gql(good(), '{ u0: getUsersByStandardAttribute(attributeName: "email") { id } }');
    expect(res.body).toEqual({ data: null, errors: [{ message: 'Field "getUsersByStandardAttribute" argument "attributeValue" is required but not provided.', locations: [{ line: 1, column: 3 }] }] });
    const big = await gql(good(), '{ __typename }', { padding: 'x'.repeat(1024 * 1024) });
    expect(big.status).toBe(413);
  });

  test.each(['bad-request', 'graphql-error'] as const)('a server that limits query fields (as %s) refuses the whole document', async (as) => {
    fake = await FakeAuthgear.start({ queryFieldLimit: { max: 2, as } });
    const fields = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `u${i}: getUsersByStandardAttribute(attributeName: "email", attributeValue: "a@b.example") { id }`).join(' ')} }`;
    expect((await gql(good(), fields(2))).body).toEqual({ data: { u0: [], u1: [] } });
    const refused = await gql(good(), fields(3));
    const message = 'too many query fields in one request: got 3, limit is 2';
    if (as === 'bad-request') expect(refused).toEqual({ status: 400, body: { error: expect.objectContaining({ name: 'BadRequest', message }) } });
    else expect(refused).toEqual({ status: 200, body: { data: null, errors: [{ message, locations: [] }] } });
    expect(fake.graphqlRequests).toBe(2);
  });
});
