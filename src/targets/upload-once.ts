import { Lru } from '../util/lru.js';

/**
 * Identical avatars within a run go up once: the first row's upload serves every later row with
 * the same bytes (a shared placeholder photo), even rows already in flight. Bounded, because the
 * repeats that matter stay recent and a million distinct avatars must not pile up; a failed
 * upload is forgotten so the next row with those bytes tries again.
 */
export class UploadOnce {
  readonly #uploads: Lru<string, Promise<string>>;

  constructor(max = 1024) {
    this.#uploads = new Lru(max);
  }

  get(sha256: string, upload: () => Promise<string>): Promise<string> {
    const known = this.#uploads.get(sha256);
    if (known) return known;
    const pending = upload();
    this.#uploads.set(sha256, pending);
    pending.catch(() => {
      if (this.#uploads.get(sha256) === pending) this.#uploads.delete(sha256);
    });
    return pending;
  }
}
