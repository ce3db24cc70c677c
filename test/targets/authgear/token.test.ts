// The Admin API JWT as the fake server receives it (and verifies it with the public key): RS256,
// kid + typ in the header, aud = project, iat/exp five minutes apart, an audit_context naming the
// tool and the run; re-minted before it expires; never in a log line.
import { avatar, importRow, setup, wallClock, type Setup } from './helpers.js';

let s: Setup;
afterEach(async () => {
  await s.target.close();
  await s.authgear.close();
  expect(s.authgear.server.errors).toEqual([]);
});

describe('authgear target: the Admin API token', () => {
  test('carries kid, typ, aud, iat, exp (5 min) and an audit_context with the tool and the run id', async () => {
    s = await setup();
    s.authgear.addUser({ email: 'ana@acme.example' });
    await s.open();
    await importRow(s.target, 'ana@acme.example', avatar('a'));
    const seen = s.authgear.tokens;
    expect(seen.length).toBeGreaterThanOrEqual(4); // probe, lookup, re-read, presign, update: all authorised
    const [{ header, claims }] = seen;
    expect(header).toEqual({ alg: 'RS256', typ: 'JWT', kid: s.authgear.keyId });
    expect(claims).toEqual({
      aud: s.authgear.projectId,
      iat: expect.any(Number),
      exp: (claims.iat as number) + 300,
      audit_context: { tool: 'avatar-import', run_id: 'run-test-1' },
    });
    // The key id came from the file name, as the portal saves it (<key id>.pem).
    expect(s.keyFile.endsWith(`${s.authgear.keyId}.pem`)).toBe(true);
    // One token served every request of this short run.
    expect(new Set(seen.map((t) => t.token)).size).toBe(1);
    expect(s.target.token.minted).toBe(1);
  });

  test('is re-minted before it expires: a run longer than 5 minutes never sends a stale token', async () => {
    const clock = wallClock();
    s = await setup({ now: clock.now }, { deps: { now: clock.now } });
    const users = ['ana', 'bo', 'cy', 'di'].map((u) => `${u}@acme.example`);
    for (const u of users) s.authgear.addUser({ email: u });
    await s.open();
    for (const u of users) {
      await importRow(s.target, u, avatar(u));
      clock.advance(270_000); // 4.5 minutes per row: the token has 30 s left at the next row
    }
    const tokens = [...new Map(s.authgear.tokens.map((t) => [t.token, t.claims])).values()];
    const start = Math.floor(clock.now() / 1000) - 4 * 270;
    expect(tokens.map((c) => (c.iat as number) - start)).toEqual([0, 270, 540, 810]);
    for (const claims of tokens) expect((claims.exp as number) - (claims.iat as number)).toBe(300);
    // Every request went out with at least a minute left on its token.
    expect(s.authgear.server.requests.every((r) => r.outcome !== 403)).toBe(true);
    expect(s.target.token.minted).toBe(4);
  });

  test('a token the server stops accepting (expired while waiting) is replaced once and the call sent again', async () => {
    // The server's clock runs 6 minutes ahead: the token minted at open() is stale there by the
    // first row, while a new one is still inside the server's window.
    const client = wallClock();
    let ahead = 0;
    s = await setup({ now: () => client.now() + ahead, skewSeconds: 0 }, { deps: { now: client.now } });
    s.authgear.addUser({ email: 'ana@acme.example' });
    await s.open();
    client.advance(200_000);
    ahead = 101_000; // server at +301 s: the first token (exp +300 s) is refused, the next is fine
    await importRow(s.target, 'ana@acme.example', avatar('a'));
    expect(s.authgear.server.count('graphql', 403)).toBe(1);
    expect(s.target.token.minted).toBe(2);
    expect(s.authgear.count('updateUser')).toBe(1);
  });

  test('never appears in a log line, an error message, or a URL', async () => {
    s = await setup();
    s.authgear.addUser({ email: 'ana@acme.example' });
    await s.open();
    s.authgear.setFaults({ errorEvery: 3, storm: { requests: 2, retryAfterMs: 0 } });
    const messages: string[] = [];
    for (const u of ['ana@acme.example', 'ghost@acme.example', 'not an email']) {
      await importRow(s.target, u, avatar(u)).catch((e: Error) => messages.push(e.message));
    }
    expect(messages.length).toBe(2);
    expect(s.lines.length).toBeGreaterThan(0);
    const tokens = new Set(s.authgear.tokens.map((t) => t.token));
    expect(tokens.size).toBeGreaterThan(0);
    for (const token of tokens) {
      for (const text of [...s.lines, ...messages]) expect(text).not.toContain(token);
      for (const r of s.authgear.server.requests) expect(r.search).not.toContain(token);
      expect(s.log.redact(`Bearer ${token}`)).toBe('Bearer ***');
    }
  });
});
