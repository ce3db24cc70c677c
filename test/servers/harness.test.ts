import { FakeServer, RESET, type Reply } from '../../testkit/servers/harness.js';

/** A two-route server that remembers what its handler did, to tell 'reset before' from 'after'. */
async function echo() {
  const handled: string[] = [];
  const server = await FakeServer.start({
    routes: [
      { name: 'hello', method: 'GET', path: /^\/hello\/([^/]+)$/, handle: (_q, [who]) => { handled.push(who!); return { status: 200, json: { hello: who } }; } },
      { name: 'drop', method: 'POST', path: /^\/drop$/, handle: () => RESET },
    ],
    unrouted: (_q, methodAllowed): Reply => ({ status: methodAllowed ? 404 : 405, json: { error: 'no' } }),
    rateLimited: (ms): Reply => ({ status: 429, json: { wait: ms } }),
    serverError: (): Reply => ({ status: 503, json: { error: 'down' } }),
  });
  return { server, handled };
}

const get = (server: FakeServer, path: string, init?: RequestInit) => fetch(server.url + path, init);

describe('test server harness', () => {
  test('listens on 127.0.0.1 and counts every request by route, with its outcome', async () => {
    const { server } = await echo();
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await (await get(server, '/hello/ana%20b')).json()).toEqual({ hello: 'ana b' });
      await get(server, '/hello/bo');
      expect((await get(server, '/nowhere')).status).toBe(404);
      expect((await get(server, '/hello/x', { method: 'DELETE' })).status).toBe(405);
      expect(server.counts()).toEqual({ hello: 2, unrouted: 2 });
      expect(server.count('hello', 200)).toBe(2);
      expect(server.requests[0]).toMatchObject({ method: 'GET', path: '/hello/ana%20b', route: 'hello', outcome: 200 });
    } finally {
      await server.close();
    }
  });

  test('errorEvery answers every Nth request with the server own 5xx, without running the handler', async () => {
    const { server, handled } = await echo();
    try {
      server.setFaults({ errorEvery: 3 });
      const statuses = [];
      for (let i = 0; i < 6; i++) statuses.push((await get(server, `/hello/${i}`)).status);
      expect(statuses).toEqual([200, 200, 503, 200, 200, 503]);
      expect(handled).toEqual(['0', '1', '3', '4']);
    } finally {
      await server.close();
    }
  });

  test('errorRate with a seed fails the same requests every time', async () => {
    const run = async () => {
      const { server } = await echo();
      server.setFaults({ errorRate: 0.3, seed: 42 });
      const statuses = [];
      for (let i = 0; i < 20; i++) statuses.push((await get(server, '/hello/x')).status);
      await server.close();
      return statuses;
    };
    const first = await run();
    expect(first).toContain(503);
    expect(first).toContain(200);
    expect(await run()).toEqual(first);
  });

  test("resets drop the connection; 'before' skips the handler, 'after' runs it and loses the answer", async () => {
    const { server, handled } = await echo();
    try {
      server.setFaults({ resetEvery: 1, resetWhen: 'before' });
      await expect(get(server, '/hello/a')).rejects.toThrow();
      server.setFaults({ resetEvery: 1, resetWhen: 'after' });
      await expect(get(server, '/hello/b')).rejects.toThrow();
      expect(handled).toEqual(['b']);
      expect(server.count('hello', 'reset')).toBe(2);
      server.setFaults({});
      await expect(get(server, '/drop', { method: 'POST' })).rejects.toThrow();
    } finally {
      await server.close();
    }
  });

  test('a storm answers the next N requests of the chosen routes with the server own 429', async () => {
    const { server } = await echo();
    try {
      server.setFaults({ storm: { requests: 2, retryAfterMs: 1234 }, routes: ['hello'] });
      const a = await get(server, '/hello/a');
      expect(a.status).toBe(429);
      expect(await a.json()).toEqual({ wait: 1234 });
      expect((await get(server, '/nowhere')).status).toBe(404); // not an affected route
      expect((await get(server, '/hello/b')).status).toBe(429);
      expect((await get(server, '/hello/c')).status).toBe(200);
      expect(server.requests.filter((r) => r.fault === 'storm')).toHaveLength(2);
    } finally {
      await server.close();
    }
  });

  test('a limiter in front lets a burst through, then answers 429 with the time until the next slot', async () => {
    const { server } = await echo();
    try {
      server.setFaults({ rateLimit: { perSecond: 1, burst: 3 } });
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await get(server, '/hello/x')).status);
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      const waits = server.requests.filter((r) => r.fault === 'limit');
      expect(waits).toHaveLength(2);
    } finally {
      await server.close();
    }
  });

  test('latency holds answers (after the work is done) and close() does not wait for them', async () => {
    const { server, handled } = await echo();
    server.setFaults({ latencyMs: 60_000 });
    const pending = get(server, '/hello/slow').catch((e: unknown) => e);
    while (handled.length === 0) await new Promise((r) => setImmediate(r));
    await server.close();
    expect(String(await pending)).toMatch(/fetch failed/);
    expect(handled).toEqual(['slow']);
  });
});
