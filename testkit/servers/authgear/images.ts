// Authgear's images service: the Admin API's presign route (pkg/admin/transport/
// presign_images_upload.go + pkg/util/httpsigning), the images server's upload handler with its
// checks in the real order (pkg/images/handler/post.go) and the read routes.
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { FakeRequest, Reply } from '../harness.js';
import { multipartBoundary, parseMultipart } from '../multipart.js';
import { apiError, json } from './replies.js';

export interface StoredImage {
  readonly objectId: string;
  readonly bytes: Buffer;
  readonly contentType: string;
  readonly filename: string;
  readonly metadata: unknown;
}

/** `MaxContentLength` (10 MiB). */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
const PRESIGN_EXPIRES_SECONDS = 900;

export class ImageService {
  readonly images = new Map<string, StoredImage>();
  /** Upload URLs issued, in order. */
  readonly presigned: string[] = [];
  readonly #secret = randomBytes(32);

  constructor(private readonly options: { readonly projectId: string; readonly now: () => number; readonly maxUploadBytes: number }) {}

  /** A single-use upload URL signed over method, path, query and Host, valid 900 s. */
  presign(request: FakeRequest): Reply {
    const host = String(request.headers.host);
    const path = `/_images/${this.options.projectId}/${randomUUID()}`;
    const query = new URLSearchParams({
      'x-authgear-metadata': Buffer.from(JSON.stringify({ uploaded_by: 'admin_api' })).toString('base64url'),
      'x-authgear-algorithm': 'HMAC-SHA256',
      'x-authgear-date': new Date(this.options.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      'x-authgear-expires': String(PRESIGN_EXPIRES_SECONDS),
      'x-authgear-signedheaders': 'host',
    });
    query.set('x-authgear-signature', this.#sign('POST', path, query, host));
    // The scheme the request came in with, as the real presign does (the fake has no TLS).
    const url = `http://${host}${path}?${query.toString()}`;
    this.presigned.push(url);
    return json(200, { result: { upload_url: url } });
  }

  /** Signature → content type → exactly one file part named `file` → size → duplicate. */
  upload(request: FakeRequest, app: string, objectId: string): Reply {
    const q = request.query;
    const invalid = (reason: string, message: string, info?: unknown) => apiError(400, 'Invalid', reason, message, info);
    const needed = ['x-authgear-algorithm', 'x-authgear-date', 'x-authgear-expires', 'x-authgear-signedheaders', 'x-authgear-signature'];
    const date = Date.parse(q.get('x-authgear-date') ?? '');
    const expires = Number(q.get('x-authgear-expires'));
    if (needed.some((k) => !q.get(k)) || q.get('x-authgear-algorithm') !== 'HMAC-SHA256' || Number.isNaN(date) || !Number.isInteger(expires)) {
      return invalid('InvalidSignatureQueryParam', 'invalid signature query param');
    }
    const expected = this.#sign(request.method, request.path, q, String(request.headers.host));
    if (q.get('x-authgear-signature') !== expected) return invalid('InvalidSignature', 'invalid signature', { canonical_request: '…' });
    if (this.options.now() > date + expires * 1000) return invalid('ExpiredSignature', 'expired signature');

    const type = String(request.headers['content-type'] ?? '');
    if (!/^multipart\/form-data\s*(;|$)/i.test(type)) return invalid('Invalid', 'invalid content-type');
    const boundary = multipartBoundary(type);
    if (!boundary) return invalid('Invalid', 'invalid boundary');
    const parts = parseMultipart(request.body, boundary);
    if (!parts) return invalid('Invalid', 'failed to read request body');
    const files = parts.filter((p) => p.filename !== undefined);
    if (files.length !== 1) return invalid('Invalid', 'expected exactly 1 file part');
    const file = files[0]!;
    if (file.name !== 'file') return invalid('Invalid', 'invalid file field');
    if (file.content.length < 1 || file.content.length > this.options.maxUploadBytes) {
      return apiError(400, 'BadRequest', 'BadRequest', 'asset too large');
    }
    if (this.images.has(objectId)) return apiError(409, 'AlreadyExists', 'DuplicatedImage', 'duplicated image');
    const metadata = JSON.parse(Buffer.from(q.get('x-authgear-metadata') ?? '', 'base64url').toString('utf8') || 'null') as unknown;
    this.images.set(objectId, { objectId, bytes: file.content, contentType: file.contentType ?? 'application/octet-stream', filename: file.filename!, metadata });
    return json(200, { result: { url: `authgearimages:///${app}/${objectId}` } });
  }

  serve(app: string, objectId: string, options: string): Reply {
    const image = app === this.options.projectId ? this.images.get(objectId) : undefined;
    if (!image || (options !== 'profile' && options !== 'original')) return { status: 404, body: '' };
    return { status: 200, headers: { 'content-type': image.contentType, 'cache-control': 'public, immutable, max-age=900' }, body: image.bytes };
  }

  #sign(method: string, path: string, query: URLSearchParams, host: string): string {
    const params = [...query.entries()].filter(([k]) => k !== 'x-authgear-signature').sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const canonical = [method, path, params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'), `host:${host}`].join('\n');
    return createHmac('sha256', this.#secret).update(canonical).digest('hex');
  }
}
