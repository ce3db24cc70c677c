import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FatalError, RowError, UsageError } from '../../src/errors.js';
import { locate, readSource, type SourceOptions } from '../../src/input/source.js';
import { parseUrlAuth } from '../../src/input/url-auth.js';
import { bambooAuth, startBamboo, type BambooServer } from '../../testkit/servers/bamboohr.js';

const KEY = 'f00dfeedcafe1234';
const photo = Buffer.from('\xff\xd8\xff a jpeg', 'latin1');
let bamboo: BambooServer;
/** Another host (and port) that a redirect may point to; records what it was sent. */
let elsewhere: { server: Server; origin: string; host: string; authorizations: Array<string | undefined> };

beforeAll(async () => {
  bamboo = await startBamboo({ companyDomain: 'acme', keys: { [KEY]: { photos: true }, nophotos: { photos: false } }, photos: { '39': photo } });
  const authorizations: Array<string | undefined> = [];
  const server = createServer((request, response) => {
    authorizations.push(request.headers.authorization);
    if (request.url === '/bounce') response.writeHead(302, { location: bamboo.photoUrl('39') }).end();
    else response.writeHead(200, { 'content-type': 'image/jpeg' }).end(photo);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  elsewhere = { server, origin: `http://localhost:${port}`, host: `localhost:${port}`, authorizations };
});

afterAll(async () => {
  await bamboo.close();
  elsewhere.server.closeAllConnections();
  await new Promise((resolve) => elsewhere.server.close(resolve));
});

function sourceOptions(env: Record<string, string>, entries: string[]): SourceOptions {
  return {
    imagesDir: '/nonexistent', allowHosts: [bamboo.host, elsewhere.host], timeoutMs: 5000, maxSourceBytes: 1 << 20,
    urlAuth: entries.map((entry) => parseUrlAuth(entry, env)),
  };
}

async function fetchUrl(url: string, options: SourceOptions): Promise<Buffer> {
  return readSource(await locate(url, options), options);
}

describe('--url-auth', () => {
  test('sends the credential to its host and port as the Authorization header', async () => {
    const options = sourceOptions({ BAMBOO: bambooAuth(KEY) }, [`${bamboo.host}=BAMBOO`]);
    expect(await fetchUrl(bamboo.photoUrl('39'), options)).toEqual(photo);
    expect(bamboo.authorizations.at(-1)).toBe(bambooAuth(KEY));
  });

  test('a bare token becomes a bearer token; "Basic …" and "Bearer …" go as they are', () => {
    expect(parseUrlAuth('h.example=T', { T: 'abc123' }).header).toBe('Bearer abc123');
    expect(parseUrlAuth('h.example=T', { T: 'Bearer abc123' }).header).toBe('Bearer abc123');
    expect(parseUrlAuth('h.example:8443=T', { T: 'Basic eDp5' })).toEqual({ host: 'h.example', port: '8443', variable: 'T', header: 'Basic eDp5' });
  });

  test('is never sent to another host, not even when its own host redirects there', async () => {
    const options = sourceOptions({ BAMBOO: bambooAuth(KEY) }, [`${bamboo.host}=BAMBOO`]);
    const before = elsewhere.authorizations.length;
    await fetchUrl(`${elsewhere.origin}/direct.jpg`, options);
    expect(elsewhere.authorizations.slice(before)).toEqual([undefined]);
  });

  test('a redirect from another host to the credential\'s host gets the credential there, and only there', async () => {
    const options = sourceOptions({ BAMBOO: bambooAuth(KEY) }, [`${bamboo.host}=BAMBOO`]);
    const seenBefore = elsewhere.authorizations.length;
    expect(await fetchUrl(`${elsewhere.origin}/bounce`, options)).toEqual(photo);
    expect(elsewhere.authorizations.slice(seenBefore)).toEqual([undefined]);
    expect(bamboo.authorizations.at(-1)).toBe(bambooAuth(KEY));
  });

  test('the same host on another port is another host', async () => {
    const otherPort = `127.0.0.1:${Number(bamboo.host.split(':')[1]) + 1}`;
    const options = sourceOptions({ BAMBOO: bambooAuth(KEY) }, [`${otherPort}=BAMBOO`]);
    const error = await fetchUrl(bamboo.photoUrl('39'), options).catch((caught: unknown) => caught);
    expect(bamboo.authorizations.at(-1)).toBeUndefined();
    // Without a credential, BambooHR's 401 is just this row's failed fetch.
    expect(error).toBeInstanceOf(RowError);
    expect(error).toMatchObject({ code: 'fetch_failed' });
  });

  test.each([
    ['an unknown key (401)', 'wrongkey0000'],
    ['a key without the right to see photos (403)', 'nophotos'],
  ])('%s is fatal, and the message names the variable, never the value', async (_name, key) => {
    const options = sourceOptions({ BAMBOO: bambooAuth(key) }, [`${bamboo.host}=BAMBOO`]);
    const error = await fetchUrl(bamboo.photoUrl('39'), options).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FatalError);
    expect(error).toMatchObject({ code: 'url_auth_rejected' });
    expect((error as Error).message).toMatch(/refused the credential from BAMBOO \(--url-auth\)/);
    expect((error as Error).message).not.toContain(bambooAuth(key).slice(6));
  });

  test('a missing photo stays a row failure', async () => {
    const options = sourceOptions({ BAMBOO: bambooAuth(KEY) }, [`${bamboo.host}=BAMBOO`]);
    await expect(fetchUrl(bamboo.photoUrl('40'), options)).rejects.toMatchObject({ code: 'fetch_failed', message: expect.stringContaining('HTTP 404') });
  });

  test('bad entries and unset variables are usage errors that never show a value', () => {
    expect(() => parseUrlAuth('https://h.example=T', { T: 'x' })).toThrow(UsageError);
    expect(() => parseUrlAuth('h.example', {})).toThrow(/--url-auth expects HOST\[:PORT\]=ENVVAR/);
    expect(() => parseUrlAuth('h.example=NOPE', {})).toThrow('--url-auth h.example=NOPE: the environment variable NOPE is not set or empty');
  });

  test('over plain http, only an entry that names the port sends the credential', async () => {
    const options = sourceOptions({ BAMBOO: bambooAuth(KEY) }, ['127.0.0.1=BAMBOO']);
    await fetchUrl(bamboo.photoUrl('39'), options).catch(() => undefined);
    expect(bamboo.authorizations.at(-1)).toBeUndefined();
  });
});
