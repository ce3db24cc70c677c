// The files behind /user_avatars/ (zerver/lib/upload: write_avatar_images, resize_avatar;
// zerver/views/upload.py serve_local_avatar_unauthed), local storage:
//   - every avatar version has its own files, under `<realm_id>/<hash of user_id:version:salt>`:
//     `.original` (the uploaded bytes verbatim), `.png` (100 px) and `-medium.png` (500 px), both
//     centre-cropped squares made by thumbnailing (upscaled when smaller), EXIF orientation applied;
//   - old versions are never deleted: an avatar replaced long ago is still served at its old URL;
//   - served with no authentication at all (the salted hash is the secret: HTML e-mails embed
//     them), `Cache-Control: max-age=31536000, public, immutable`, the type from the extension;
//     a path with no file answers 404 with Django's `<p>File not found</p>`.
// A Jdenticon default (avatar_source J, Zulip 12.0) is a generated PNG served the same way; an
// avatar a test gives no bytes for (a user who uploaded "something" before the test) gets a
// generated picture of its own, so a download of it works as on a real server.
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import type { Reply } from '../harness.js';

export const SMALL = 100;
export const MEDIUM = 500;

export type Rendition = 'original' | 'small' | 'medium';

/** `<realm_id>/<40 hex>`: user_avatar_path for one version. */
export function avatarPath(userId: number, version: number): string {
  return `2/${createHash('sha1').update(`${userId}:${version}:salt`).digest('hex')}`;
}

const SUFFIX: Record<Rendition, string> = { original: '.original', small: '.png', medium: '-medium.png' };

export class AvatarFiles {
  /** By the path after /user_avatars/. Made lazily: the bytes are only rendered when asked for. */
  readonly #files = new Map<string, () => Promise<Buffer>>();

  /** An uploaded image becomes the files of `version`. */
  store(userId: number, version: number, original: Buffer): void {
    const base = avatarPath(userId, version);
    const once = <T>(make: () => Promise<T>): (() => Promise<T>) => {
      let made: Promise<T> | undefined;
      return () => (made ??= make());
    };
    this.#files.set(base + SUFFIX.original, async () => original);
    this.#files.set(base + SUFFIX.small, once(() => render(original, SMALL)));
    this.#files.set(base + SUFFIX.medium, once(() => render(original, MEDIUM)));
  }

  /** A version whose picture the test does not care about (a Jdenticon, an earlier upload). */
  generate(userId: number, version: number): void {
    const seed = createHash('sha256').update(`${userId}:${version}`).digest();
    const picture = sharp({ create: { width: MEDIUM, height: MEDIUM, channels: 3, background: { r: seed[0]!, g: seed[1]!, b: seed[2]! } } })
      .composite([{ input: { create: { width: 200, height: 200, channels: 3, background: { r: seed[3]!, g: seed[4]!, b: seed[5]! } } }, left: seed[6]! % 300, top: seed[7]! % 300 }])
      .png()
      .toBuffer();
    const base = avatarPath(userId, version);
    let original: Promise<Buffer> | undefined;
    const made = () => (original ??= picture);
    this.#files.set(base + SUFFIX.original, made);
    this.#files.set(base + SUFFIX.small, async () => render(await made(), SMALL));
    this.#files.set(base + SUFFIX.medium, async () => render(await made(), MEDIUM));
  }

  /** The bytes of one rendition of one version, as GET would serve them. */
  async read(userId: number, version: number, rendition: Rendition): Promise<Buffer | undefined> {
    return this.#files.get(avatarPath(userId, version) + SUFFIX[rendition])?.();
  }

  /** GET /user_avatars/<path>. */
  async serve(path: string): Promise<Reply> {
    const file = this.#files.get(path);
    if (!file) return { status: 404, headers: { 'Content-Type': 'text/html; charset=utf-8' }, body: '<p>File not found</p>' };
    const type = path.endsWith('.png') ? 'image/png' : 'application/octet-stream';
    return { status: 200, headers: { 'Content-Type': type, 'Cache-Control': 'max-age=31536000, public, immutable' }, body: await file() };
  }
}

/** resize_avatar: thumbnail_buffer(size, height=size, crop=CENTRE), as PNG. */
function render(image: Buffer, size: number): Promise<Buffer> {
  return sharp(image).rotate().resize(size, size, { fit: 'cover', position: 'centre' }).png().toBuffer();
}
