// What every fake server shares: a node:http server on 127.0.0.1 with an ephemeral port, a route
// table, a record of every request (so tests assert on what was sent, not on timing) and
// switchable faults (5xx, connection resets, latency, 429 storms). A fake server supplies its routes
// and how its own 429s and 5xxs look; the harness decides when a fault strikes, deterministically.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface FakeRequest {
  readonly method: string;
  /** The raw (still percent-encoded) path, without the query. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface Reply {
  readonly status: number;
  /** Some servers send odd reason phrases (Synapse 1.67: "429 Unknown Status"). */
  readonly statusMessage?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as application/json without Content-Length, i.e. chunked, as Synapse and Zulip do. */
  readonly json?: unknown;
  readonly body?: Buffer | string;
}

/** Close the connection without answering (what a server does to a body it will not read). */
export const RESET = Symbol('reset');

export interface Route {
  /** Names the route in counters: `server.count('upload')`. */
  readonly name: string;
  readonly method: string;
  /** Matched against the raw path; groups are passed to `handle` percent-decoded. */
  readonly path: RegExp;
  handle(request: FakeRequest, params: string[]): Reply | typeof RESET | Promise<Reply | typeof RESET>;
}

export interface Faults {
  /** Only requests to these routes are affected; all routes when absent. */
  readonly routes?: readonly string[];
  /** Every Nth affected request answers the server's 5xx. */
  readonly errorEvery?: number;
  /** Or this share of affected requests, drawn from a seeded RNG (same seed, same requests). */
  readonly errorRate?: number;
  readonly seed?: number;
  /** Every Nth affected request has its connection destroyed. */
  readonly resetEvery?: number;
  /** 'before' the handler runs (nothing happened) or 'after' (the work is done, the answer lost). */
  readonly resetWhen?: 'before' | 'after';
  /** Every answer is held this long after the handler ran: the work is done, the answer is slow. */
  readonly latencyMs?: number;
  /** The next `requests` affected requests answer the server's 429 asking to wait `retryAfterMs`. */
  readonly storm?: { readonly requests: number; readonly retryAfterMs: number };
  /** A limiter in front (a reverse proxy's): a leaky bucket over all affected requests, answering
   * the server's 429 with the time until the next request would pass. */
  readonly rateLimit?: { readonly perSecond: number; readonly burst: number };
}

export interface Recorded {
  readonly method: string;
  readonly path: string;
  /** The raw query string, '' when none: tests check that no secret travels in URLs. */
  readonly search: string;
  readonly headers: IncomingHttpHeaders;
  /** The route name, or 'unrouted'. */
  readonly route: string;
  /** The status sent, or 'reset'. */
  readonly outcome: number | 'reset';
  /** Which fault answered instead of the handler, if any. */
  readonly fault?: 'storm' | 'limit' | 'error' | 'reset';
}

export interface ServerOptions {
  readonly routes: readonly Route[];
  /** Answer for a path no route matches. */
  unrouted(request: FakeRequest, methodAllowed: boolean): Reply;
  /** This server's rate-limit answer. */
  rateLimited(retryAfterMs: number): Reply;
  /** This server's internal-error answer. */
  serverError(): Reply;
}

export class FakeServer {
  readonly requests: Recorded[] = [];
  /** Exceptions thrown by route handlers (bugs in a fake server). */
  readonly errors: unknown[] = [];
  #faults: Faults = {};
  #affected = 0;
  #stormLeft = 0;
  #rng: () => number = Math.random;
  #bucket = { level: 0, at: 0 };
  readonly #delays = new Delays();
  #sockets = new Set<Socket>();

  private constructor(private readonly server: Server, readonly url: string, private readonly options: ServerOptions) {}

  static async start(options: ServerOptions): Promise<FakeServer> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const fake = new FakeServer(server, `http://127.0.0.1:${port}`, options);
    server.on('request', (req, res) => {
      fake.#serve(req, res).catch((error: unknown) => {
        // A client that went away mid-body is normal; a bug in a fake server must not hang the
        // client until its timeout, nor vanish: answer 500 and keep it for the test to see.
        if (req.destroyed && !req.complete) return;
        fake.errors.push(error);
        if (!res.headersSent) fake.#send(res, fake.options.serverError());
      });
    });
    server.on('connection', (socket) => {
      fake.#sockets.add(socket);
      socket.on('close', () => fake.#sockets.delete(socket));
    });
    return fake;
  }

  /** Replace the faults; counting for "every Nth" starts again. */
  setFaults(faults: Faults): void {
    this.#faults = faults;
    this.#affected = 0;
    this.#stormLeft = faults.storm?.requests ?? 0;
    this.#rng = mulberry32(faults.seed ?? 1);
    this.#bucket = { level: 0, at: performance.now() };
  }

  get faults(): Faults {
    return this.#faults;
  }

  /** Requests to a route (optionally only those that got `outcome`). */
  count(route: string, outcome?: number | 'reset'): number {
    return this.requests.filter((r) => r.route === route && (outcome === undefined || r.outcome === outcome)).length;
  }

  /** Requests per route name. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.requests) out[r.route] = (out[r.route] ?? 0) + 1;
    return out;
  }

  /**
   * The next request to `route` waits, once received in full and before its handler runs, until
   * `release()`: a synchronisation point for tests (signal a client while its request is in
   * flight), never a timing. `arrived` resolves when the request is being held. Released, the
   * request is handled as any other, whether or not its client is still there (as a real server
   * does with work it has started).
   */
  holdNext(route: string): { readonly arrived: Promise<void>; release(): void } {
    let arrive!: () => void;
    let release!: () => void;
    const arrived = new Promise<void>((resolve) => (arrive = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.#holds.push({ route, arrive, released });
    return { arrived, release };
  }

  readonly #holds: { route: string; arrive: () => void; released: Promise<void> }[] = [];

  async close(): Promise<void> {
    this.#delays.cancel();
    for (const socket of this.#sockets) socket.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://fake');
    const request: FakeRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: Buffer.concat(chunks),
    };
    const { route, params, methodAllowed } = this.#match(request);
    const name = route?.name ?? 'unrouted';
    const record = (outcome: number | 'reset', fault?: Recorded['fault']) =>
      this.requests.push({ method: request.method, path: request.path, search: url.search, headers: request.headers, route: name, outcome, ...(fault ? { fault } : {}) });

    const held = this.#holds.findIndex((hold) => hold.route === name);
    if (held >= 0) {
      const [hold] = this.#holds.splice(held, 1);
      hold!.arrive();
      await hold!.released;
    }

    const f = this.#faults;
    const affected = !f.routes || f.routes.includes(name);
    const n = affected ? ++this.#affected : 0;
    const resets = affected && f.resetEvery !== undefined && n % f.resetEvery === 0;

    if (affected && this.#stormLeft > 0) {
      this.#stormLeft--;
      record(this.options.rateLimited(f.storm!.retryAfterMs).status, 'storm');
      return this.#send(res, this.options.rateLimited(f.storm!.retryAfterMs));
    }
    const wait = affected && f.rateLimit ? this.#limit(f.rateLimit) : undefined;
    if (wait !== undefined) {
      const reply = this.options.rateLimited(wait);
      record(reply.status, 'limit');
      return this.#send(res, reply);
    }
    const errs = affected && ((f.errorEvery !== undefined && n % f.errorEvery === 0) || (f.errorRate !== undefined && this.#rng() < f.errorRate));
    if (errs) {
      const reply = this.options.serverError();
      record(reply.status, 'error');
      return this.#send(res, reply);
    }
    if (resets && (f.resetWhen ?? 'before') === 'before') {
      record('reset', 'reset');
      return void req.socket.destroy();
    }

    const reply = route ? await route.handle(request, params) : this.options.unrouted(request, methodAllowed);
    if (reply === RESET) {
      record('reset');
      return void req.socket.destroy();
    }
    if (resets) {
      record('reset', 'reset');
      return void req.socket.destroy();
    }
    record(reply.status);
    if (affected && f.latencyMs) await this.#delays.wait(f.latencyMs);
    this.#send(res, reply);
  }

  /** Undefined when the request passes, else the ms until one would. */
  #limit({ perSecond, burst }: { perSecond: number; burst: number }): number | undefined {
    const now = performance.now();
    const level = Math.max(0, this.#bucket.level - ((now - this.#bucket.at) / 1000) * perSecond);
    if (level + 1 > burst) return Math.ceil(((level + 1 - burst) / perSecond) * 1000);
    this.#bucket = { level: level + 1, at: now };
    return undefined;
  }

  #match(request: FakeRequest): { route?: Route; params: string[]; methodAllowed: boolean } {
    let pathMatched = false;
    for (const route of this.options.routes) {
      const m = route.path.exec(request.path);
      if (!m) continue;
      pathMatched = true;
      if (route.method !== request.method) continue;
      return { route, params: m.slice(1).map((p) => decodeURIComponent(p)), methodAllowed: true };
    }
    return { params: [], methodAllowed: !pathMatched };
  }

  #send(res: ServerResponse, reply: Reply): void {
    if (res.destroyed) return;
    res.statusCode = reply.status;
    if (reply.statusMessage) res.statusMessage = reply.statusMessage;
    for (const [key, value] of Object.entries(reply.headers ?? {})) res.setHeader(key, value);
    if (reply.json !== undefined) {
      res.setHeader('Content-Type', 'application/json');
      res.write(JSON.stringify(reply.json));
      res.end();
    } else {
      res.end(reply.body ?? '');
    }
  }
}

/** A small seeded PRNG: the same seed picks the same requests for errorRate. */
/** The waits a server holds answers for (latency, slow answers), cancelled all at once when it
 * closes: a pending timer would keep the test's process alive. */
export class Delays {
  readonly #timers = new Set<NodeJS.Timeout>();

  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, ms);
      this.#timers.add(timer);
    });
  }

  cancel(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}

/** What every fake product server offers tests over its FakeServer: where it listens, its faults,
 * and closing it. The subclass's static `start` sets `server`. */
export abstract class HostedFake {
  server!: FakeServer;

  get url(): string {
    return this.server.url;
  }

  close(): Promise<void> {
    return this.server.close();
  }

  setFaults(faults: Faults): void {
    this.server.setFaults(faults);
  }
}

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
