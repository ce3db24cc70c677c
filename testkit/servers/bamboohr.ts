// The photo endpoint of BambooHR's API, as its documentation describes it
// (documentation.bamboohr.com/reference/get-employee-photo):
//   GET /api/gateway.php/{companyDomain}/v1/employees/{id}/photo/{size}
//   - HTTP Basic auth, the API key as user name and any password ("x" by convention); without it,
//     or with an unknown key, 401 with a WWW-Authenticate challenge and no photo;
//   - a key whose user may not see photos: 403;
//   - size is one of original, large (340), medium (170), small (150), xs (50), tiny (20); another
//     size or an employee without a photo: 404;
//   - the photo comes as Content-Type image/jpeg.
// It also records every request's Authorization header, so tests can check who was sent what.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const SIZES = new Set(['original', 'large', 'medium', 'small', 'xs', 'tiny']);

export interface BambooOptions {
  readonly companyDomain: string;
  /** API keys and whether their user may see photos. */
  readonly keys: Record<string, { readonly photos: boolean }>;
  /** Employee id → the photo's bytes (the "original" size; other sizes serve the same bytes). */
  readonly photos: Record<string, Buffer>;
}

export interface BambooServer {
  readonly origin: string;
  /** host:port, as --url-auth and --allow-host take it. */
  readonly host: string;
  /** The Authorization header of each request (undefined when none was sent), in order. */
  readonly authorizations: Array<string | undefined>;
  photoUrl(id: string, size?: string): string;
  close(): Promise<void>;
}

export async function startBamboo(options: BambooOptions): Promise<BambooServer> {
  const authorizations: Array<string | undefined> = [];
  const server: Server = createServer((request: IncomingMessage, response) => {
    authorizations.push(request.headers.authorization);
    const key = basicUser(request.headers.authorization);
    const account = key === undefined ? undefined : options.keys[key];
    if (!account) {
      response.writeHead(401, { 'www-authenticate': 'Basic realm="BambooHR"', 'content-type': 'text/html' }).end('<html><body>401 Unauthorized</body></html>');
      return;
    }
    const match = /^\/api\/gateway\.php\/([^/]+)\/v1\/employees\/([^/]+)\/photo\/([^/?]+)$/.exec(new URL(request.url ?? '/', 'http://x').pathname);
    if (request.method !== 'GET' || !match || match[1] !== options.companyDomain || !SIZES.has(match[3]!)) {
      response.writeHead(404).end();
      return;
    }
    if (!account.photos) {
      response.writeHead(403).end();
      return;
    }
    const photo = options.photos[decodeURIComponent(match[2]!)];
    if (!photo) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': photo.length }).end(photo);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    host: `127.0.0.1:${port}`,
    authorizations,
    photoUrl: (id, size = 'original') => `${origin}/api/gateway.php/${options.companyDomain}/v1/employees/${id}/photo/${size}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The user name of a Basic Authorization header. */
function basicUser(header: string | undefined): string | undefined {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : decoded.slice(0, colon);
}

/** The header value BambooHR expects for an API key. */
export function bambooAuth(key: string): string {
  return `Basic ${Buffer.from(`${key}:x`).toString('base64')}`;
}
