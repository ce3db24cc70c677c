// A fault-injecting HTTP proxy for the soak scripts and their small CI versions: put in front of a
// test server, it passes requests through and, for a seeded share of them, does what a bad network
// or a struggling server does. Every fault is one a real deployment produces:
//   error        the proxy's own 502 page; the server never saw the request
//   reset-before the connection is dropped before the request is passed on
//   reset-after  the request is passed on and applied, then the connection is dropped
//   storm        a burst of 429s with Retry-After, as a reverse proxy's limiter sends
//   cut-body     the server's answer is cut off halfway (Content-Length says more)
//   slow         the answer is held longer than the client's request timeout
//   hang         the request is applied and no answer ever comes (the connection stays open)
// The proxy keeps the Host header as the client sent it, so servers that build URLs from it
// (Authgear's presigned uploads) hand out URLs that go through the proxy too.
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Delays, mulberry32 } from '../../testkit/servers/harness.js';

export type FaultKind = 'error' | 'reset-before' | 'reset-after' | 'storm' | 'cut-body' | 'slow' | 'hang';
export const FAULT_KINDS: readonly FaultKind[] = ['error', 'reset-before', 'reset-after', 'storm', 'cut-body', 'slow', 'hang'];

export interface FaultProxyOptions {
  /** The server behind, e.g. http://127.0.0.1:4312. */
  readonly upstream: string;
  /** Share of requests that meet a fault, in [0, 1]. */
  readonly rate: number;
  readonly seed: number;
  /** How long a `slow` answer is held (longer than the client's request timeout). */
  readonly slowMs: number;
  /** Requests answered 429 in one storm, and the Retry-After they carry (seconds). */
  readonly stormRequests?: number;
  readonly stormRetryAfterSeconds?: number;
  /** Which faults to draw from (all by default). */
  readonly kinds?: readonly FaultKind[];
}

export class FaultProxy {
  /** Faults injected so far, by kind. */
  readonly injected: Record<FaultKind, number> = { error: 0, 'reset-before': 0, 'reset-after': 0, storm: 0, 'cut-body': 0, slow: 0, hang: 0 };
  requests = 0;
  /** The longest a held request (hang, slow) stayed open before the client gave up on it, in ms. */
  longestHoldMs = 0;
  #stormLeft = 0;
  readonly #random: () => number;
  readonly #sockets = new Set<Socket>();
  readonly #delays = new Delays();
  #enabled = true;

  private constructor(private readonly server: Server, readonly url: string, private readonly options: FaultProxyOptions) {
    this.#random = mulberry32(options.seed);
  }

  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const proxy = new FaultProxy(server, `http://127.0.0.1:${port}`, options);
    server.on('connection', (socket) => {
      proxy.#sockets.add(socket);
      socket.on('close', () => proxy.#sockets.delete(socket));
    });
    server.on('request', (req, res) => void proxy.#handle(req, res).catch(() => req.socket.destroy()));
    return proxy;
  }

  get faults(): number {
    return Object.values(this.injected).reduce((a, b) => a + b, 0);
  }

  /** Pass everything through untouched (checking the server's state afterwards). */
  set enabled(on: boolean) {
    this.#enabled = on;
  }

  async close(): Promise<void> {
    this.#delays.cancel();
    for (const socket of this.#sockets) socket.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  #draw(): FaultKind | undefined {
    if (!this.#enabled) return undefined;
    if (this.#stormLeft > 0) {
      this.#stormLeft--;
      return 'storm';
    }
    if (this.#random() >= this.options.rate) return undefined;
    const kinds = this.options.kinds ?? FAULT_KINDS;
    const kind = kinds[Math.floor(this.#random() * kinds.length)]!;
    if (kind === 'storm') this.#stormLeft = (this.options.stormRequests ?? 4) - 1;
    return kind;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    this.requests++;
    const fault = this.#draw();
    if (fault) this.injected[fault]++;

    if (fault === 'error') {
      res.writeHead(502, { 'content-type': 'text/html' }).end('<html><body><h1>502 Bad Gateway</h1></body></html>');
      return;
    }
    if (fault === 'reset-before') return void req.socket.destroy();
    if (fault === 'storm') {
      const seconds = this.options.stormRetryAfterSeconds ?? 1;
      res.writeHead(429, { 'retry-after': String(seconds), 'content-type': 'text/html' }).end('<html><body>429 Too Many Requests</body></html>');
      return;
    }

    if (fault === 'hang' || fault === 'slow') {
      const arrived = performance.now();
      req.socket.once('close', () => (this.longestHoldMs = Math.max(this.longestHoldMs, performance.now() - arrived)));
    }
    const answer = await this.#forward(req, body);
    if (fault === 'reset-after') return void req.socket.destroy();
    if (fault === 'hang') return; // applied; the socket stays open until the client gives up
    if (fault === 'slow') await this.#delays.wait(this.options.slowMs);
    if (res.destroyed) return;
    const headers = { ...answer.headers };
    delete headers['transfer-encoding'];
    headers['content-length'] = String(answer.body.length);
    res.writeHead(answer.status, headers);
    if (fault === 'cut-body') {
      res.write(answer.body.subarray(0, Math.floor(answer.body.length / 2)));
      // Flushed, then cut: the client sees a body shorter than announced.
      setImmediate(() => req.socket.destroy());
      return;
    }
    res.end(answer.body);
  }

  #forward(req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
    const upstream = new URL(this.options.upstream);
    return new Promise((resolve, reject) => {
      const out = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, connection: 'close' } },
        (answer) => {
          const parts: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => parts.push(chunk));
          answer.on('end', () => resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: Buffer.concat(parts) }));
          answer.on('error', reject);
        },
      );
      out.on('error', reject);
      out.end(body);
    });
  }
}

// The seeded PRNG (same seed, same faults on the same requests) is the test servers' own.
export { mulberry32 };
