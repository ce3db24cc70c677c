// Setting pictures: presign + upload + updateUser with the complete attributes, what is sent and
// how often, through rate limits, failures and lost answers. The fake Authgear's state and counters
// say what really happened; nothing here depends on timing.
import { authgearPolicy, uploadUrlSpent } from '../../../src/targets/authgear/errors.js';
import { DEFAULT_RETRY_AFTER_MS } from '../../../src/net/errors.js';
import { nodeId } from '../../../testkit/servers/authgear.js';
import { avatar, importRow, outcomes, setup, uploadPaths, type Setup } from './helpers.js';

let s: Setup;
afterEach(async () => {
  await s.target.close();
  await s.authgear.close();
  expect(s.authgear.server.errors).toEqual([]);
});

const host = () => new URL(s.authgear.url).host;
const objectOf = (picture: unknown) => /\/_images\/myapp\/([0-9a-f-]{36})\/profile$/.exec(String(picture))?.[1];

/** Everything a profile can hold, plus custom attributes. */
const FULL = {
  name: 'Ana María Ortiz', given_name: 'Ana', family_name: 'Ortiz', middle_name: 'María', nickname: 'Anita',
  gender: 'female', birthdate: '1990-04-01', zoneinfo: 'Europe/Madrid', locale: 'es', website: 'https://ana.example/',
  profile: 'https://acme.example/people/ana',
  address: { formatted: 'Calle Mayor 1, Madrid', street_address: 'Calle Mayor 1', locality: 'Madrid', region: 'MD', postal_code: '28013', country: 'ES' },
};

describe('authgear target: apply()', () => {
  test('presigns, uploads one `file` part to the URL as returned with no Authorization header, sets picture, and records the https read-back', async () => {
    s = await setup();
    const id = s.authgear.addUser({ email: 'ana@acme.example', standard: { picture: 'https://gravatar.example/ana.jpg' } });
    await s.open();
    const image = avatar('ana');
    const applied = await importRow(s.target, 'ana@acme.example', image);

    expect(s.authgear.presigned).toHaveLength(1);
    const [upload] = s.authgear.server.requests.filter((r) => r.route === 'image_upload');
    const issued = new URL(s.authgear.presigned[0]!);
    expect(upload!.path + upload!.search).toBe(issued.pathname + issued.search); // byte for byte
    expect(upload!.headers.authorization).toBeUndefined();
    expect(upload!.headers['content-length']).toBeDefined();
    const stored = [...s.authgear.images.values()];
    expect(stored).toHaveLength(1);
    expect(stored[0]!.bytes.equals(image.jpeg)).toBe(true);
    expect(stored[0]).toMatchObject({ contentType: 'image/jpeg', filename: `avatar-${image.sha256.slice(0, 16)}.jpg` });

    expect(s.authgear.user(id).standard.picture).toBe(`authgearimages:///myapp/${stored[0]!.objectId}`);
    expect(applied).toEqual({ remote: `https://${host()}/_images/myapp/${stored[0]!.objectId}/profile`, previous: 'https://gravatar.example/ana.jpg' });
    // What the next run's lookup reports is exactly what was recorded.
    expect((await s.target.resolve('ana@acme.example', undefined)).current).toBe(applied.remote);
    expect(s.authgear.count('updateUser')).toBe(1);
  });

  test('no other standard attribute, identity attribute or custom attribute is lost; derived keys and customAttributes are never sent', async () => {
    s = await setup();
    const id = s.authgear.addUser({ email: 'ana@acme.example', phone_number: '+34600000001', preferred_username: 'ana', standard: FULL, custom: { employee_id: 'E-17', team: 'hr' } });
    const storedBefore = structuredClone(s.authgear.user(id).standard);
    const readBefore = s.authgear.readAttributes(id);
    expect(Object.keys(readBefore)).toEqual(expect.arrayContaining([...Object.keys(FULL), 'email', 'phone_number', 'preferred_username', 'email_verified', 'phone_number_verified', 'updated_at']));
    await s.open();
    const applied = await importRow(s.target, 'ana@acme.example', avatar('ana'));

    const { picture, ...rest } = s.authgear.user(id).standard;
    expect(rest).toEqual(storedBefore);
    expect(picture).toMatch(/^authgearimages:\/\/\/myapp\//);
    expect(s.authgear.user(id).custom).toEqual({ employee_id: 'E-17', team: 'hr' });
    const { picture: readPicture, updated_at: _u, ...readRest } = s.authgear.readAttributes(id);
    const { updated_at: _v, ...before } = readBefore;
    expect(readRest).toEqual(before);
    expect(readPicture).toBe(applied.remote);

    const [input] = s.authgear.updates;
    expect(Object.keys(input!).sort()).toEqual(['standardAttributes', 'userID']);
    expect(input!.standardAttributes).not.toHaveProperty('email_verified');
    expect(input!.standardAttributes).not.toHaveProperty('phone_number_verified');
    expect(input!.standardAttributes).not.toHaveProperty('updated_at');
    for (const r of s.authgear.graphql) expect(r.body).not.toMatch(/customAttributes/);
  });

  test('every upload gets its own fresh URL; identical avatars in one run are uploaded once', async () => {
    s = await setup();
    for (const u of ['ana', 'bo', 'cy', 'di']) s.authgear.addUser({ email: `${u}@acme.example` });
    await s.open();
    const placeholder = avatar('placeholder');
    const applied = await Promise.all([
      importRow(s.target, 'ana@acme.example', avatar('ana')),
      importRow(s.target, 'bo@acme.example', avatar('bo')),
      importRow(s.target, 'cy@acme.example', placeholder),
      importRow(s.target, 'di@acme.example', placeholder),
    ]);
    expect(s.authgear.presigned).toHaveLength(3);
    expect(new Set(uploadPaths(s.authgear)).size).toBe(3);
    expect(uploadPaths(s.authgear)).toHaveLength(3);
    expect(applied[2]!.remote).toBe(applied[3]!.remote);
  });

  test('a 5xx on the upload is retried with a NEW upload URL, never by re-POSTing to the used one', async () => {
    s = await setup();
    for (const u of ['ana', 'bo']) s.authgear.addUser({ email: `${u}@acme.example` });
    await s.open();
    s.authgear.setFaults({ errorEvery: 2, routes: ['image_upload'] }); // the 2nd upload POST fails
    await importRow(s.target, 'ana@acme.example', avatar('ana'));
    await importRow(s.target, 'bo@acme.example', avatar('bo'));
    const paths = uploadPaths(s.authgear);
    expect(paths).toHaveLength(3);
    expect(new Set(paths).size).toBe(3);
    expect(s.authgear.server.count('image_upload', 500)).toBe(1);
    expect(s.authgear.presigned).toHaveLength(3);
    expect(s.authgear.images.size).toBe(2);
  });

  test('an upload whose answer is lost (stored, connection dropped) is retried with a new URL: an orphan, never a duplicate POST', async () => {
    s = await setup();
    s.authgear.addUser({ email: 'ana@acme.example' });
    const bo = s.authgear.addUser({ email: 'bo@acme.example' });
    await s.open();
    s.authgear.setFaults({ resetEvery: 2, resetWhen: 'after', routes: ['image_upload'] }); // the 2nd POST is stored, its answer lost
    await importRow(s.target, 'ana@acme.example', avatar('ana'));
    const applied = await importRow(s.target, 'bo@acme.example', avatar('bo'));
    const paths = uploadPaths(s.authgear);
    expect(paths).toHaveLength(3);
    expect(new Set(paths).size).toBe(3);
    expect(s.authgear.server.count('image_upload', 'reset')).toBe(1);
    expect(s.authgear.images.size).toBe(3); // the lost one landed too; Authgear never deletes it
    expect(objectOf(applied.remote)).toBe(paths[2]!.split('/').at(-1));
    expect(s.authgear.user(bo).standard.picture).toBe(`authgearimages:///myapp/${objectOf(applied.remote)}`);
  });

  test('spent or expired upload URLs mean "ask for a new one"; other 400s do not', () => {
    const res = (status: number, reason: string, message = '') => ({ status, headers: {}, body: Buffer.alloc(0), json: () => ({ error: { name: 'x', reason, message } }) });
    expect(uploadUrlSpent(res(409, 'DuplicatedImage'), 'upload')).toMatchObject({ kind: 'retry' });
    expect(uploadUrlSpent(res(400, 'ExpiredSignature'), 'upload')).toMatchObject({ kind: 'retry' });
    expect(uploadUrlSpent(res(400, 'BadRequest', 'asset too large'), 'upload')).toBeUndefined();
    expect(uploadUrlSpent(res(400, 'InvalidSignature'), 'upload')).toBeUndefined();
  });

  test('400 "asset too large" fails the row as upload_rejected: sent once, nothing set', async () => {
    s = await setup({ maxUploadBytes: 8 });
    const id = s.authgear.addUser({ email: 'ana@acme.example', standard: { name: 'Ana' } });
    await s.open();
    const error = await importRow(s.target, 'ana@acme.example', avatar('far more than eight bytes')).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'row', code: 'upload_rejected' });
    expect((error as Error).message).toContain('asset too large');
    expect(s.authgear.server.count('image_upload')).toBe(1);
    expect(s.authgear.count('updateUser')).toBe(0);
    expect(s.authgear.user(id).standard).toEqual({ email: 'ana@acme.example', name: 'Ana' });
  });
});

describe('authgear target: read-back verification', () => {
  test('a server that alters another attribute fails the row with verify_failed, naming both versions', async () => {
    s = await setup();
    s.authgear.addUser({ email: 'ana@acme.example', standard: { name: 'Ana Ortiz', picture: 'https://gravatar.example/ana.jpg' } });
    await s.open();
    s.authgear.hook = { alter: (attrs) => ({ ...attrs, name: 'ANA ORTIZ' }) };
    const error = await importRow(s.target, 'ana@acme.example', avatar('ana')).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'row', code: 'verify_failed' });
    const message = (error as Error).message;
    expect(message).toContain('picture before https://gravatar.example/ana.jpg');
    expect(message).toMatch(/written authgearimages:\/\/\/myapp\/[0-9a-f-]{36}/);
    expect(message).toContain('name: "Ana Ortiz" → "ANA ORTIZ"');
  });

  test('a server that keeps another picture fails the row with verify_failed', async () => {
    s = await setup();
    s.authgear.addUser({ email: 'ana@acme.example' });
    await s.open();
    s.authgear.hook = { alter: (attrs) => ({ ...attrs, picture: 'https://elsewhere.example/x.jpg' }) };
    const error = await importRow(s.target, 'ana@acme.example', avatar('ana')).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'verify_failed' });
    expect((error as Error).message).toMatch(/picture before \(none\), written authgearimages:\/\/\/myapp\/\S+, read back https:\/\/elsewhere\.example\/x\.jpg$/);
  });
});

describe('authgear target: GraphQL errors (HTTP 200 with errors) as row codes', () => {
  test('a blocking hook refusing the update → avatar_changes_disabled, and the transaction is rolled back', async () => {
    s = await setup();
    const id = s.authgear.addUser({ email: 'ana@acme.example', standard: { name: 'Ana' } });
    await s.open();
    s.authgear.hook = { reject: true };
    const error = await importRow(s.target, 'ana@acme.example', avatar('ana')).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'row', code: 'avatar_changes_disabled' });
    expect((error as Error).message).toContain('Forbidden/HookDisallowed');
    expect(s.authgear.user(id).standard).toEqual({ email: 'ana@acme.example', name: 'Ana' });
    expect(s.authgear.count('updateUser')).toBe(1); // not retried
  });

  test('attributes Authgear refuses as invalid → target_error with the causes; an unowned email → target_error', async () => {
    s = await setup();
    // Stored before a schema change: echoing it back no longer validates. Dropping it would lose
    // data, so the row fails instead.
    s.authgear.addUser({ email: 'ana@acme.example', standard: { x_department: 'HR' } });
    const bo = s.authgear.addUser({ email: 'bo@acme.example' });
    s.authgear.setAttribute(bo, 'email', 'old-bo@acme.example'); // not owned by any identity
    await s.open();
    const [ana, boError] = await Promise.all([
      importRow(s.target, 'ana@acme.example', avatar('a')).catch((e: Error) => e),
      importRow(s.target, 'bo@acme.example', avatar('b')).catch((e: Error) => e),
    ]);
    expect(ana).toMatchObject({ code: 'target_error' });
    expect((ana as Error).message).toContain('Invalid/ValidationFailed');
    expect((ana as Error).message).toContain('additionalProperties {"property":"x_department"}');
    expect(boError).toMatchObject({ code: 'target_error' });
    expect((boError as Error).message).toContain('unexpected error');
  });

  test('a user deleted, anonymized or deactivated between lookup and write is not written', async () => {
    s = await setup();
    const ids = ['ana', 'bo', 'cy'].map((u) => s.authgear.addUser({ email: `${u}@acme.example` }));
    await s.open();
    const accounts = await Promise.all(['ana', 'bo', 'cy'].map((u) => s.target.resolve(`${u}@acme.example`, undefined)));
    s.authgear.users.delete(s.authgear.user(ids[0]!).uuid);
    s.authgear.user(ids[1]!).anonymized = true;
    s.authgear.user(ids[2]!).deactivated = true;
    expect(await outcomes(accounts.map((a) => s.target.apply(a, avatar(a.user))))).toEqual(['user_not_found', 'user_deactivated', 'user_deactivated']);
    expect(s.authgear.count('updateUser')).toBe(0);
  });
});

describe('authgear target: lost updates', () => {
  test('the attributes are re-read right before the write: a name changed after the lookup is kept', async () => {
    s = await setup();
    const id = s.authgear.addUser({ email: 'ana@acme.example', standard: { name: 'Ana' } });
    await s.open();
    const account = await s.target.resolve('ana@acme.example', undefined);
    s.authgear.setAttribute(id, 'name', 'Ana Ortiz'); // edited in the portal meanwhile
    await s.target.apply(account, avatar('ana'));
    expect(s.authgear.user(id).standard.name).toBe('Ana Ortiz');
  });

  test('a picture the user changed after the lookup is kept (changed_by_user), unless --overwrite-user-changes', async () => {
    s = await setup();
    const id = s.authgear.addUser({ email: 'ana@acme.example' });
    await s.open();
    const account = await s.target.resolve('ana@acme.example', undefined);
    s.authgear.setAttribute(id, 'picture', 'https://gravatar.example/mine.jpg');
    await expect(s.target.apply(account, avatar('ana'))).rejects.toMatchObject({ code: 'changed_by_user' });
    expect(s.authgear.user(id).standard.picture).toBe('https://gravatar.example/mine.jpg');
    expect(s.authgear.count('updateUser')).toBe(0);

    const forced = await setup({}, { argv: { 'overwrite-user-changes': true } });
    try {
      const bo = forced.authgear.addUser({ email: 'bo@acme.example' });
      await forced.open();
      const boAccount = await forced.target.resolve('bo@acme.example', undefined);
      forced.authgear.setAttribute(bo, 'picture', 'https://gravatar.example/bo.jpg');
      const applied = await forced.target.apply(boAccount, avatar('bo'));
      expect(applied.previous).toBe('https://gravatar.example/bo.jpg');
    } finally {
      await forced.target.close();
      await forced.authgear.close();
    }
  });

  test.each(['after', 'before'] as const)(
    'an updateUser whose answer is lost (reset %s the server ran it) is read back before anything is re-sent',
    async (resetWhen) => {
      s = await setup();
      const id = s.authgear.addUser({ email: 'ana@acme.example', standard: { name: 'Ana' } });
      await s.open();
      // graphql requests of the row: 1 lookup, 2 re-read, 3 updateUser.
      s.authgear.setFaults({ resetEvery: 3, resetWhen, routes: ['graphql'] });
      const applied = await importRow(s.target, 'ana@acme.example', avatar('ana'));
      expect(s.authgear.server.count('graphql', 'reset')).toBe(1);
      // Executed exactly once either way: read back and found done, or read back and sent again.
      expect(s.authgear.updates).toHaveLength(1);
      expect(s.authgear.readAttributes(id).picture).toBe(applied.remote);
      expect(s.authgear.user(id).standard.name).toBe('Ana');
    },
  );
});

describe('authgear target: a key revoked mid-run', () => {
  test('is fatal for every worker after one re-mint, and nothing more is sent', async () => {
    s = await setup();
    const users = Array.from({ length: 6 }, (_, i) => `user${i}@acme.example`);
    for (const u of users) s.authgear.addUser({ email: u });
    await s.open();
    await importRow(s.target, users[0]!, avatar('0'));
    s.authgear.revokeKey(s.authgear.keyId);
    const results = await outcomes(users.slice(1).map((u) => importRow(s.target, u, avatar(u))));
    expect(new Set(results)).toEqual(new Set(['admin_key_refused']));
    const sent = s.authgear.server.requests.length;
    await expect(importRow(s.target, users[1]!, avatar('later'))).rejects.toMatchObject({ kind: 'fatal', code: 'admin_key_refused' });
    expect(s.authgear.server.requests.length).toBe(sent);
    expect(s.authgear.updates).toHaveLength(1);
  });
});

describe('authgear target: 429 and 5xx go through the pacer', () => {
  test('a 429 storm pauses the target and every row ends ok; nothing is set twice', async () => {
    s = await setup({}, { config: { concurrency: 4 } });
    const users = Array.from({ length: 8 }, (_, i) => `user${i}@acme.example`);
    for (const u of users) s.authgear.addUser({ email: u });
    await s.open();
    s.authgear.setFaults({ storm: { requests: 10, retryAfterMs: 0 } });
    const applied = await Promise.all(users.map((u) => importRow(s.target, u, avatar(u))));
    expect(s.authgear.server.requests.filter((r) => r.fault === 'storm')).toHaveLength(10);
    expect(s.target.pacer!.stats.rateLimited).toBe(10);
    expect(s.authgear.updates).toHaveLength(8);
    expect(new Set(applied.map((a) => a.remote)).size).toBe(8);
    expect(new Set(uploadPaths(s.authgear)).size).toBe(uploadPaths(s.authgear).length);
  });

  test('429s without Retry-After pause the whole target for a jittered 2.5–5 s by default', () => {
    expect(authgearPolicy(() => 0).retryAfterFromBody!(undefined)).toBe(DEFAULT_RETRY_AFTER_MS / 2);
    expect(authgearPolicy(() => 0.999999).retryAfterFromBody!(undefined)).toBe(DEFAULT_RETRY_AFTER_MS);
  });

  test('5xx answers and resets are retried with backoff; every row ends ok', async () => {
    // About a third of requests fail, so a presign + upload unit fails ~60 % of the time: 8
    // retries left a row failing about once in twenty runs; 20 make that one in a million.
    s = await setup({}, { argv: { retries: 20 } });
    const users = Array.from({ length: 6 }, (_, i) => `user${i}@acme.example`);
    for (const u of users) s.authgear.addUser({ email: u });
    await s.open();
    s.authgear.setFaults({ errorEvery: 4, resetEvery: 7 });
    const applied = await Promise.all(users.map((u) => importRow(s.target, u, avatar(u))));
    expect(s.authgear.server.requests.some((r) => r.fault === 'error')).toBe(true);
    expect(s.authgear.server.requests.some((r) => r.fault === 'reset')).toBe(true);
    expect(s.target.pacer!.stats.retries).toBeGreaterThan(0);
    users.forEach((u, i) => expect(s.authgear.readAttributes(idOf(u)).picture).toBe(applied[i]!.remote));
    expect(new Set(uploadPaths(s.authgear)).size).toBe(uploadPaths(s.authgear).length);
  });

  test('a server that keeps failing makes the row fail as retries_exhausted after --retries', async () => {
    s = await setup({}, { argv: { retries: 2 } });
    s.authgear.addUser({ email: 'ana@acme.example' });
    await s.open();
    s.authgear.setFaults({ errorEvery: 1, routes: ['presign'] });
    await expect(importRow(s.target, 'ana@acme.example', avatar('a'))).rejects.toMatchObject({ kind: 'row', code: 'retries_exhausted' });
    expect(s.authgear.server.count('presign')).toBe(3);
    expect(s.authgear.server.count('image_upload')).toBe(0);
    expect(s.authgear.count('updateUser')).toBe(0);
  });
});

function idOf(email: string): string {
  return nodeId([...s.authgear.users.values()].find((u) => u.standard.email === email)!.uuid);
}
