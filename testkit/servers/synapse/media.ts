// The media repository's upload (synapse/http/site.py's body limits before any servlet, then
// upload_resource.py) and the avatar rules that check an mxc against what was uploaded
// (max_avatar_size / allowed_avatar_mimetypes, check_avatar_size_and_mime_type).
import { randomBytes } from 'node:crypto';
import { RESET, type FakeRequest, type Reply } from '../harness.js';
import { json, matrixError } from './replies.js';

export interface Upload {
  readonly mxc: string;
  readonly bytes: Buffer;
  readonly contentType: string;
  readonly filename: string | null;
  readonly uploader: string;
}

const MAX_REQUEST_BODY_FLOOR = Math.floor(12.5 * 1024 * 1024); // synapse/api/constants.py

export class MediaRepository {
  readonly uploads: Upload[] = [];
  #quota: number;

  constructor(private readonly options: { readonly serverName: string; readonly maxUploadSize: number; readonly mediaUploadQuota?: number | undefined }) {
    this.#quota = options.mediaUploadQuota ?? Infinity;
  }

  /** The site's checks, made before authentication: a reply ends the request here. */
  beforeAuth(request: FakeRequest): Reply | typeof RESET | undefined {
    const type = request.headers['content-type'] ?? '';
    if (type.toLowerCase().startsWith('multipart/form-data')) return { status: 415, body: '' };
    const maxRequest = Math.max(MAX_REQUEST_BODY_FLOOR, this.options.maxUploadSize);
    const declared = request.headers['content-length'];
    if (declared !== undefined && Number(declared) > maxRequest) {
      return matrixError(413, 'M_TOO_LARGE', `Request content is too large (>${maxRequest})`);
    }
    if (declared === undefined && request.body.length > maxRequest) return RESET;
    return undefined;
  }

  /** _get_file_metadata, the quota (media_upload_limits), then the store. */
  upload(request: FakeRequest, uploader: string): Reply {
    const declared = request.headers['content-length'];
    if (declared === undefined) return matrixError(400, 'M_UNKNOWN', 'Request must specify a Content-Length');
    if (Number(declared) > this.options.maxUploadSize) return matrixError(413, 'M_TOO_LARGE', 'Upload request body is too large');
    if (this.#quota <= 0) return matrixError(400, 'M_RESOURCE_LIMIT_EXCEEDED', 'Media upload limit exceeded');
    this.#quota--;
    const mxc = `mxc://${this.options.serverName}/${randomBytes(18).toString('base64url').slice(0, 24)}`;
    this.uploads.push({
      mxc,
      bytes: request.body,
      contentType: request.headers['content-type'] || 'application/octet-stream',
      filename: request.query.get('filename'),
      uploader,
    });
    return json(200, { content_uri: mxc });
  }

  /** Whether an avatar_url passes the avatar rules (no rules: anything does). */
  avatarAllowed(value: string, rules: { readonly maxBytes?: number; readonly mimeTypes?: readonly string[] } | undefined): boolean {
    if (!rules) return true;
    const media = this.uploads.find((u) => u.mxc === value);
    if (!media) return false;
    if (rules.maxBytes !== undefined && media.bytes.length > rules.maxBytes) return false;
    if (rules.mimeTypes && !rules.mimeTypes.includes(media.contentType)) return false;
    return true;
  }
}
