// The got factory, the classification and the endpoint glue, against a real local server.
import { AvatarError, RowError } from '../../src/errors.js';
import { createLogger, type Logger } from '../../src/log.js';
import { createEndpoint } from '../../src/net/endpoint.js';
import { classifyResponse, classifyTransport, DEFAULT_RETRY_AFTER_MS, type ErrorPolicy } from '../../src/net/errors.js';
import { createHttp, parseJson, USER_AGENT, type HttpRequest, type HttpResponse } from '../../src/net/http.js';
import { Pacer } from '../../src/net/pacer.js';
import { FakeServer, type Reply } from '../../testkit/servers/harness.js';

const TOKEN = 'secret-token-0123456789';

const policy: ErrorPolicy = {
  retryAfterFromBody: (body) => (body as { wait_ms?: number } | undefined)?.wait_ms,
  refusal: (response) => new RowError('target_error', `refused with HTTP ${response.status}`),
};

let server: FakeServer;
let lines: string[];
let log: Logger;

beforeEach(async () => {
  lines = [];
  log = createLogger({ verbose: true, write: (line) => lines.push(line) });
  server = await FakeServer.start({
    routes: [
      { name: 'read', method: 'GET', path: /^\/read$/, handle: () => ({ status: 200, json: { ok: true } }) },
      { name: 'write', method: 'PUT', path: /^\/write$/, handle: () => ({ status: 200, json: {} }) },
      { name: 'moved', method: 'GET', path: /^\/moved$/, handle: () => ({ status: 302, headers: { location: 'http://127.0.0.1:1/elsewhere' } }) },
      { name: 'echo-token', method: 'GET', path: /^\/echo$/, handle: (q) => ({ status: 400, body: `bad header ${q.headers.authorization}` }) },
      // A proxy's error page that quotes the request's header just where a message is cut short.
      { name: 'echo-5xx', method: 'GET', path: /^\/echo-5xx$/, handle: (q) => ({ status: 500, body: `<html>${'e'.repeat(100)} ${q.headers.authorization} </html>` }) },
    ],
    unrouted: (): Reply => ({ status: 404, body: '<html>not here</html>' }),
    rateLimited: (ms): Reply => ({ status: 429, json: { wait_ms: ms } }),
    serverError: (): Reply => ({ status: 502, body: '<html>bad gateway</html>' }),
  });
});

afterEach(() => server.close());

const client = (timeouts = {}) => createHttp({ baseUrl: server.url + '/', log, bearer: () => TOKEN, timeouts });

function response(status: number, headers: Record<string, string> = {}, body = ''): HttpResponse {
  const buffer = Buffer.from(body);
  return { status, headers, body: buffer, json: () => parseJson(buffer) };
}
const GET: HttpRequest = { method: 'GET', path: '/x', what: 'read x' };

describe('http: one got factory', () => {
  test('sends the user agent and the token in the Authorization header only, and registers the token as a secret', async () => {
    const res = await client().request({ method: 'GET', path: '/read' });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ ok: true });
    const [seen] = server.requests;
    expect(seen!.headers['user-agent']).toBe(USER_AGENT);
    expect(USER_AGENT).toMatch(/^avatar-import\/\d+\.\d+\.\d+/);
    expect(seen!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(seen!.search).toBe('');
    expect(log.redact(`x ${TOKEN} y`)).toBe('x *** y');
  });

  test('an error status is an answer, not an exception, and got never retries on its own', async () => {
    server.setFaults({ errorEvery: 1 });
    const res = await client().request({ method: 'GET', path: '/read' });
    expect(res.status).toBe(502);
    expect(res.json()).toBeUndefined(); // HTML: no JSON, no crash
    expect(server.requests).toHaveLength(1);
  });

  test('redirects are not followed (the token would go with them)', async () => {
    const res = await client().request({ method: 'GET', path: '/moved' });
    expect(res.status).toBe(302);
    expect(server.requests).toHaveLength(1);
  });
});

describe('classification of answers', () => {
  test('2xx and statuses the caller expects are taken', () => {
    expect(classifyResponse(response(204), GET, policy)).toBeUndefined();
    expect(classifyResponse(response(404), { ...GET, expect: [404] }, policy)).toBeUndefined();
  });

  test('5xx and 408 are retried', () => {
    expect(classifyResponse(response(500), GET, policy)).toMatchObject({ kind: 'retry', code: 'server_error' });
    expect(classifyResponse(response(408), GET, policy)).toMatchObject({ kind: 'retry' });
  });

  test('429 waits for Retry-After first, then the body field, then a default', () => {
    const body = JSON.stringify({ wait_ms: 4880 });
    expect(classifyResponse(response(429, { 'retry-after': '2' }, body), GET, policy)).toMatchObject({ kind: 'retry-after', retryAfterMs: 2000 });
    expect(classifyResponse(response(429, { 'retry-after': '2' }), GET, policy)?.retryAfterMs).toBe(2000);
    expect(classifyResponse(response(429, { 'retry-after': '0.25' }), GET, policy)?.retryAfterMs).toBe(250);
    expect(classifyResponse(response(429, {}, body), GET, policy)?.retryAfterMs).toBe(4880);
    expect(classifyResponse(response(429, {}, '<html>slow down</html>'), GET, policy)?.retryAfterMs).toBe(DEFAULT_RETRY_AFTER_MS);
    const now = Date.parse('Wed, 21 Oct 2026 07:28:00 GMT');
    expect(classifyResponse(response(429, { 'retry-after': 'Wed, 21 Oct 2026 07:28:07 GMT' }), GET, policy, now)?.retryAfterMs).toBe(7000);
  });

  test("a header that is only the body's value rounded up to whole seconds (Synapse) yields to the precise body", () => {
    expect(classifyResponse(response(429, { 'retry-after': '5' }, JSON.stringify({ wait_ms: 4880 })), GET, policy)?.retryAfterMs).toBe(4880);
    expect(classifyResponse(response(429, { 'retry-after': '1' }, JSON.stringify({ wait_ms: 20 })), GET, policy)?.retryAfterMs).toBe(20);
    // A header that says something else wins.
    expect(classifyResponse(response(429, { 'retry-after': '30' }, JSON.stringify({ wait_ms: 20 })), GET, policy)?.retryAfterMs).toBe(30_000);
  });

  test('a 503 that says when to come back is a rate limit', () => {
    expect(classifyResponse(response(503, { 'retry-after': '3' }), GET, policy)).toMatchObject({ kind: 'retry-after', retryAfterMs: 3000 });
  });

  test("other refusals are the API's to name", () => {
    expect(classifyResponse(response(403), GET, policy)).toMatchObject({ kind: 'row', code: 'target_error' });
  });
});

describe('classification of transport failures', () => {
  test('a reset read is retried; a write reset after the server did the work is unknown', async () => {
    server.setFaults({ resetEvery: 1, resetWhen: 'after' });
    const read = await client().request({ method: 'GET', path: '/read' }).catch((e: unknown) => e);
    expect(classifyTransport(read, { method: 'GET', path: '/read' })).toMatchObject({ kind: 'retry', code: 'network_error' });
    const write = await client().request({ method: 'PUT', path: '/write', json: {} }).catch((e: unknown) => e);
    expect(classifyTransport(write, { method: 'PUT', path: '/write' })).toMatchObject({ kind: 'unknown', code: 'write_unknown' });
  });

  test('a timeout waiting for the answer: retry for a read, unknown for a write', async () => {
    server.setFaults({ latencyMs: 5_000 });
    const fast = client({ response: 100 });
    const read = await fast.request({ method: 'GET', path: '/read' }).catch((e: unknown) => e);
    expect(classifyTransport(read, { method: 'GET', path: '/read' })).toMatchObject({ kind: 'retry', code: 'timeout' });
    const write = await fast.request({ method: 'PUT', path: '/write', json: {} }).catch((e: unknown) => e);
    expect(classifyTransport(write, { method: 'PUT', path: '/write' })).toMatchObject({ kind: 'unknown' });
  });

  test('a refused connection was never sent, so even a write is simply retried', async () => {
    const dead = createHttp({ baseUrl: 'http://127.0.0.1:1', log });
    const error = await dead.request({ method: 'PUT', path: '/write', json: {} }).catch((e: unknown) => e);
    expect(classifyTransport(error, { method: 'PUT', path: '/write' })).toMatchObject({ kind: 'retry', code: 'network_error' });
  });

  test('anything that is not a transport failure is left alone', () => {
    expect(classifyTransport(new TypeError('bug'), GET)).toBeUndefined();
  });
});

describe('endpoint: pacer + classification', () => {
  const endpoint = (retries = 3) =>
    createEndpoint({ http: client(), pacer: new Pacer({ name: 'test', concurrency: 2, retries, minBackoffMs: 1, maxBackoffMs: 5 }), policy, log });

  test('a transient 5xx is retried and the caller only sees the success', async () => {
    server.setFaults({ errorEvery: 2 });
    const api = endpoint();
    await api.send({ method: 'GET', path: '/read' }); // 1st: ok
    const res = await api.send({ method: 'GET', path: '/read' }); // 2nd: 502, 3rd: ok
    expect(res.status).toBe(200);
    expect(server.count('read')).toBe(3);
  });

  test('a 429 is waited out and re-sent', async () => {
    server.setFaults({ storm: { requests: 1, retryAfterMs: 20 } });
    const res = await endpoint().send({ method: 'PUT', path: '/write', json: {} });
    expect(res.status).toBe(200);
    expect(server.count('write')).toBe(2);
  });

  test('a refusal comes back classified, and a token the server echoes is masked in the message', async () => {
    const error = await endpoint().send({ method: 'GET', path: '/echo', what: 'echo' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AvatarError);
    expect((error as Error).message).not.toContain(TOKEN);
    const leaky: ErrorPolicy = { refusal: (res) => new RowError('target_error', res.body.toString()) };
    const pacer = new Pacer({ name: 'test', concurrency: 1, retries: 0 });
    const e2 = await createEndpoint({ http: client(), pacer, policy: leaky, log }).send({ method: 'GET', path: '/echo' }).catch((e: unknown) => e);
    expect((e2 as Error).message).toBe('bad header Bearer ***');
  });

  test('a token that straddles the cut of a long error body is masked before the body is cut', async () => {
    const pacer = new Pacer({ name: 'test', concurrency: 1, retries: 0 });
    const error = await createEndpoint({ http: client(), pacer, policy, log }).send({ method: 'GET', path: '/echo-5xx', what: 'echo' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'retries_exhausted' });
    expect((error as Error).message).toContain('Bearer ***');
    expect((error as Error).message).not.toContain(TOKEN.slice(0, 8));
  });

  test('retries are bounded: a server that keeps failing makes the row fail as retryable', async () => {
    server.setFaults({ errorEvery: 1 });
    await expect(endpoint(2).send({ method: 'GET', path: '/read' })).rejects.toMatchObject({ code: 'retries_exhausted' });
    expect(server.count('read')).toBe(3);
  });
});
