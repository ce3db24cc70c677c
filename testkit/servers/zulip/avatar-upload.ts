// zerver/views/user_settings.py set_avatar_backend, then upload_avatar_image, checks in order:
// exactly one file part (else the seed's BAD_REQUEST body), the avatar-change restriction (admins
// and owners exempt), the size limit (strictly greater fails), the content type — checked from
// BOTH the filename and the part's Content-Type, since releases differ on which one they read —
// then a real decode with sharp (BAD_IMAGE).
import sharp, { type Metadata } from 'sharp';
import type { FakeRequest, Reply } from '../harness.js';
import { multipartBoundary, parseMultipart } from '../multipart.js';
import { zulipError } from './replies.js';
import { isAdmin, type ZulipUserState } from './state.js';

const ACCEPTED = new Set(['image/avif', 'image/gif', 'image/heic', 'image/jpeg', 'image/png', 'image/tiff', 'image/webp']);
const BY_EXTENSION: Record<string, string> = {
  avif: 'image/avif', gif: 'image/gif', heic: 'image/heic', jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png',
  tif: 'image/tiff', tiff: 'image/tiff', webp: 'image/webp', bmp: 'image/bmp', svg: 'image/svg+xml', txt: 'text/plain',
};
const DECODERS = new Set(['avif', 'gif', 'heif', 'jpeg', 'png', 'tiff', 'webp']);
const IMAGE_BOMB_TOTAL_PIXELS = 90_000_000;

export interface AvatarFile {
  readonly filename: string;
  readonly contentType: string;
  readonly bytes: Buffer;
}

export interface AvatarPolicy {
  readonly maxAvatarFileSizeMib: number;
  readonly serverAvatarChangesDisabled: boolean;
  readonly realmAvatarChangesDisabled: boolean;
}

/** The accepted file and the number of parts in the body, or the server's refusal. */
export async function checkAvatarUpload(request: FakeRequest, me: ZulipUserState, policy: AvatarPolicy): Promise<{ file: AvatarFile; parts: number } | { reply: Reply }> {
  const boundary = multipartBoundary(String(request.headers['content-type'] ?? ''));
  // Django puts the parts with a filename in request.FILES.
  const parts = (boundary === undefined ? undefined : parseMultipart(request.body, boundary)) ?? [];
  const files = parts.filter((p) => p.filename !== undefined);
  if (files.length !== 1) return { reply: zulipError(400, 'BAD_REQUEST', 'You must upload exactly one avatar.') };
  if ((policy.serverAvatarChangesDisabled || policy.realmAvatarChangesDisabled) && !isAdmin(me)) {
    return { reply: zulipError(400, 'BAD_REQUEST', 'Avatar changes are disabled in this organization.') };
  }
  const file: AvatarFile = { filename: files[0]!.filename!, contentType: files[0]!.contentType ?? '', bytes: files[0]!.content };
  const mib = policy.maxAvatarFileSizeMib;
  const badImage = (msg: string) => ({ reply: zulipError(400, 'BAD_IMAGE', msg) });
  if (file.bytes.length > mib * 1024 * 1024) return { reply: zulipError(400, 'BAD_REQUEST', `Uploaded file is larger than the allowed limit of ${mib} MiB`) };
  const byName = BY_EXTENSION[file.filename.split('.').pop()?.toLowerCase() ?? ''];
  const byPart = file.contentType.split(';')[0]!.trim().toLowerCase();
  if (!byName || !ACCEPTED.has(byName) || (byPart !== '' && !ACCEPTED.has(byPart))) return badImage('Invalid image format');
  let meta: Metadata;
  try {
    meta = await sharp(file.bytes).metadata();
  } catch {
    return badImage('Could not decode image; did you upload an image file?');
  }
  if (!meta.format || !DECODERS.has(meta.format)) return badImage('Could not decode image; did you upload an image file?');
  if ((meta.width ?? 0) * (meta.height ?? 0) * (meta.pages ?? 1) > IMAGE_BOMB_TOTAL_PIXELS) return badImage('Image size exceeds limit.');
  try {
    // The 100 px rendition, as resize_avatar makes it (the 500 px one fails the same way).
    await sharp(file.bytes).resize(100, 100, { fit: 'cover' }).png().toBuffer();
  } catch {
    return badImage('Image is corrupted or truncated');
  }
  return { file, parts: parts.length };
}
