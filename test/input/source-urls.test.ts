import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RowError } from '../../src/errors.js';
import { locate, readSource, type SourceOptions } from '../../src/input/source.js';

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/** A loopback server that answers by path and remembers which paths were asked for. */
async function startServer(routes: Record<string, Handler>): Promise<{ server: Server; origin: string; host: string; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((request, response) => {
    hits.push(request.url ?? '');
    const handler = routes[new URL(request.url ?? '/', 'http://x').pathname];
    if (handler) handler(request, response);
    else response.writeHead(404, 'Not Found').end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, origin: `http://127.0.0.1:${port}`, host: `127.0.0.1:${port}`, hits };
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

async function failure(attempt: Promise<unknown>): Promise<RowError> {
  const error = await attempt.then(() => undefined, (caught: unknown) => caught);
  if (!(error instanceof RowError)) throw new Error(`expected a RowError, got ${String(error)}`);
  return error;
}

const photo = Buffer.from('\xff\xd8\xff fake jpeg bytes', 'latin1');
let main: Awaited<ReturnType<typeof startServer>>;
let other: Awaited<ReturnType<typeof startServer>>;
let options: SourceOptions;
/** Responses the server could not finish because the client went away. */
const cutOff: Array<Promise<void>> = [];

beforeAll(async () => {
  other = await startServer({ '/elsewhere.jpg': (_q, response) => response.end(photo) });
  main = await startServer({
    '/photo.jpg': (_q, response) => response.writeHead(200, { 'content-type': 'image/jpeg' }).end(photo),
    '/moved': (_q, response) => response.writeHead(302, { location: '/photo.jpg' }).end(),
    '/moved-twice': (_q, response) => response.writeHead(301, { location: `${main.origin}/moved` }).end(),
    '/to-other-host': (_q, response) => response.writeHead(307, { location: `${other.origin}/elsewhere.jpg` }).end(),
    '/to-file': (_q, response) => response.writeHead(302, { location: 'file:///etc/passwd' }).end(),
    '/loop': (_q, response) => response.writeHead(302, { location: '/loop' }).end(),
    '/broken': (_q, response) => response.writeHead(500, 'Internal Server Error').end('oops'),
    '/hang': () => {},
    '/reset': (request) => request.socket.destroy(),
    '/declared-huge': (_q, response) => response.writeHead(200, { 'content-length': String(10 * 1024 * 1024) }).write('x'),
    '/endless': (_q, response) => {
      // No Content-Length: only counting the bytes as they come can stop this.
      cutOff.push(new Promise((resolve) => response.once('close', resolve)));
      response.writeHead(200, { 'content-type': 'image/jpeg' });
      const more = (): void => {
        while (!response.destroyed && response.write(Buffer.alloc(16 * 1024))) { /* until back-pressure */ }
        if (!response.destroyed) response.once('drain', more);
      };
      more();
    },
  });
  options = { imagesDir: '/nonexistent', allowHosts: [main.host], timeoutMs: 2000, maxSourceBytes: 64 * 1024 };
});

afterAll(async () => {
  await stop(main.server);
  await stop(other.server);
});

beforeEach(() => {
  main.hits.length = 0;
  other.hits.length = 0;
});

describe('which URLs are fetched at all', () => {
  test('an http URL on an allowed host is fetched', async () => {
    const ref = await locate(`${main.origin}/photo.jpg`, options);
    expect(ref).toMatchObject({ kind: 'url', display: `${main.origin}/photo.jpg` });
    expect(await readSource(ref, options)).toEqual(photo);
  });

  test('allow entries match case-insensitively, and one without a port allows any port', async () => {
    expect(await locate(`${main.origin}/photo.jpg`, { ...options, allowHosts: ['127.0.0.1'] })).toMatchObject({ kind: 'url' });
    expect(await locate('https://CDN.Example.org/a.jpg', { ...options, allowHosts: ['cdn.EXAMPLE.org:443'] })).toMatchObject({ kind: 'url' });
    expect(await locate('http://[::1]:8080/a.jpg', { ...options, allowHosts: ['[::1]:8080'] })).toMatchObject({ kind: 'url' });
    expect(await locate('https://xn--bcher-kva.example/a.jpg', { ...options, allowHosts: ['bücher.example'] })).toMatchObject({ kind: 'url' });
  });

  test.each([
    ['a host not in the list', 'https://evil.example/a.jpg', /evil\.example is not an allowed host/],
    ['an allowed host on another port', 'http://127.0.0.1:1/a.jpg', /127\.0\.0\.1:1 is not an allowed host/],
    ['a file: URL', 'file:///etc/passwd', /file: URLs are not fetched/],
    ['an ftp: URL', 'ftp://127.0.0.1/a.jpg', /ftp: URLs are not fetched/],
    ['a data: URL', 'data:image/png;base64,iVBORw0KGgo=', /data: URLs are not fetched/],
    ['a javascript: URL', 'javascript:alert(1)', /javascript: URLs are not fetched/],
  ])('%s is url_not_allowed, without a request', async (_name, cell, message) => {
    const error = await failure(locate(cell, options));
    expect(error.code).toBe('url_not_allowed');
    expect(error.message).toMatch(message);
    expect(main.hits).toEqual([]);
  });

  test('with no --allow-host, no URL is allowed, and the message says how to allow one', async () => {
    expect(await failure(locate(`${main.origin}/photo.jpg`, { ...options, allowHosts: [] })))
      .toMatchObject({ code: 'url_not_allowed', message: expect.stringContaining('use --allow-host') });
  });

  test('credentials and the query string stay out of display and messages', async () => {
    const ref = await locate(`http://user:hunter2@${main.host}/missing.jpg?signature=s3cr3t`, options);
    expect(ref.display).toBe(`${main.origin}/missing.jpg?…`);
    const error = await failure(readSource(ref, options));
    expect(error.message).not.toMatch(/hunter2|s3cr3t/);
  });
});

describe('redirects', () => {
  test('are followed, relative or absolute, each hop on an allowed host', async () => {
    expect(await readSource(await locate(`${main.origin}/moved-twice`, options), options)).toEqual(photo);
    expect(main.hits).toEqual(['/moved-twice', '/moved', '/photo.jpg']);
  });

  test('to a host not in the list are url_not_allowed, and that host is never contacted', async () => {
    const error = await failure(readSource(await locate(`${main.origin}/to-other-host`, options), options));
    expect(error.code).toBe('url_not_allowed');
    expect(error.message).toContain(`redirects to ${other.origin}/elsewhere.jpg`);
    expect(other.hits).toEqual([]);
  });

  test('to another scheme are url_not_allowed', async () => {
    expect((await failure(readSource(await locate(`${main.origin}/to-file`, options), options))).code).toBe('url_not_allowed');
  });

  test('that never end are fetch_failed after a few hops', async () => {
    const error = await failure(readSource(await locate(`${main.origin}/loop`, options), options));
    expect(error).toMatchObject({ code: 'fetch_failed', message: expect.stringContaining('more than 5 redirects') });
    expect(main.hits).toHaveLength(6);
  });
});

describe('failures while fetching', () => {
  test('an HTTP error status is fetch_failed with the status, and is asked for once (no got retries)', async () => {
    const error = await failure(readSource(await locate(`${main.origin}/broken`, options), options));
    expect(error).toMatchObject({ code: 'fetch_failed', message: `GET ${main.origin}/broken: HTTP 500 Internal Server Error` });
    expect(main.hits).toEqual(['/broken']);
    expect((await failure(readSource(await locate(`${main.origin}/nothing.jpg`, options), options))).message).toContain('HTTP 404');
  });

  test('a server that never answers is fetch_failed: timed out', async () => {
    const error = await failure(readSource(await locate(`${main.origin}/hang`, options), { ...options, timeoutMs: 300 }));
    expect(error).toMatchObject({ code: 'fetch_failed', message: `GET ${main.origin}/hang: timed out after 300 ms` });
    expect(main.hits).toEqual(['/hang']);
  });

  test('a connection reset is fetch_failed with the cause', async () => {
    const error = await failure(readSource(await locate(`${main.origin}/reset`, options), options));
    expect(error.code).toBe('fetch_failed');
    expect(error.message).toMatch(/socket hang up|ECONNRESET/);
  });

  test('a body declared larger than the cap is image_too_large before it is read', async () => {
    const error = await failure(readSource(await locate(`${main.origin}/declared-huge`, options), options));
    expect(error).toMatchObject({ code: 'image_too_large', message: expect.stringContaining('declares 10485760 bytes') });
  });

  test('a body that keeps coming is cut off at the cap: image_too_large, connection closed', async () => {
    const error = await failure(readSource(await locate(`${main.origin}/endless`, options), options));
    expect(error).toMatchObject({ code: 'image_too_large', message: expect.stringContaining('sent more than --max-source-bytes') });
    await Promise.all(cutOff);
  });

  test('an aborted signal ends the fetch with the abort reason, not a row error', async () => {
    const controller = new AbortController();
    const reading = readSource(await locate(`${main.origin}/hang`, options), options, controller.signal);
    controller.abort(new Error('shutting down'));
    await expect(reading).rejects.toThrow('shutting down');
  });
});
