// Keys minted through jwt/fetch_api_key, kept between runs: every fetch sends the user a "new
// login" email (contract notes §4), so a nightly run must not fetch again. The file:
//   - is created with mode 0600 (its folder 0700), and tightened to 0600 if found looser;
//   - is append-only JSON Lines, one entry or tombstone per line, so a crash loses at most the
//     line being written and a 100 000-user first run appends rather than rewrites;
//   - holds every key encrypted with AES-256-GCM under a key derived (HKDF) from the JWT secret
//     and the site, and names users only by an HMAC of their email: a copy of the file alone gives
//     neither keys nor the list of users, and anyone who has the JWT secret could mint the keys
//     anyway. A new secret or another site makes old entries unreadable: they are fetched again.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { chmod, mkdir, open, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../../log.js';

const SALT = 'avatar-import/zulip-key-cache/v1';

interface Entry {
  readonly v: 1;
  /** HMAC-SHA256(email lowercased), hex, truncated. */
  readonly id: string;
  readonly iv?: string;
  readonly tag?: string;
  readonly data?: string;
  readonly dropped?: true;
}

export class KeyCache {
  readonly #keys = new Map<string, string>();
  readonly #encKey: Buffer;
  readonly #macKey: Buffer;
  #handle?: FileHandle;
  #writes: Promise<void> = Promise.resolve();

  private constructor(readonly path: string, secret: string, site: string, private readonly log: Logger) {
    const material = Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), SALT, site, 64));
    this.#encKey = material.subarray(0, 32);
    this.#macKey = material.subarray(32);
  }

  static async open(path: string, secret: string, site: string, log: Logger): Promise<KeyCache> {
    const cache = new KeyCache(path, secret, site, log);
    await cache.#load();
    return cache;
  }

  get size(): number {
    return this.#keys.size;
  }

  get(email: string): string | undefined {
    return this.#keys.get(this.#id(email));
  }

  set(email: string, key: string): Promise<void> {
    const id = this.#id(email);
    this.#keys.set(id, key);
    return this.#append(this.#seal(id, key));
  }

  drop(email: string): Promise<void> {
    const id = this.#id(email);
    if (!this.#keys.delete(id)) return this.#writes;
    return this.#append({ v: 1, id, dropped: true });
  }

  async close(): Promise<void> {
    await this.#writes;
    await this.#handle?.close();
    this.#handle = undefined;
  }

  #id(email: string): string {
    return createHmac('sha256', this.#macKey).update(email.toLowerCase()).digest('hex').slice(0, 32);
  }

  #seal(id: string, key: string): Entry {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#encKey, iv);
    cipher.setAAD(Buffer.from(id)); // an entry cannot be moved to another user's id
    const data = Buffer.concat([cipher.update(key, 'utf8'), cipher.final()]);
    return { v: 1, id, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
  }

  #decrypt(entry: Entry): string | undefined {
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#encKey, Buffer.from(entry.iv!, 'base64'));
      decipher.setAAD(Buffer.from(entry.id));
      decipher.setAuthTag(Buffer.from(entry.tag!, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(entry.data!, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      return undefined; // another secret or site, or a damaged line
    }
  }

  async #load(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const handle = await open(this.path, 'a+', 0o600);
    const info = await handle.stat();
    if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
      await handle.chmod(0o600);
      this.log.warn(`--key-cache ${this.path} could be read by other users (mode ${(info.mode & 0o777).toString(8)}); set to 0600`);
    }
    const text = (await handle.readFile('utf8')) as string;
    let lines = 0;
    let unreadable = 0;
    for (const line of text.split('\n')) {
      if (!line) continue;
      lines++;
      let entry: Entry;
      try {
        entry = JSON.parse(line) as Entry;
      } catch {
        continue; // a torn last line
      }
      if (entry.v !== 1 || typeof entry.id !== 'string') continue;
      if (entry.dropped) {
        this.#keys.delete(entry.id);
        continue;
      }
      const key = this.#decrypt(entry);
      if (key === undefined) unreadable++;
      else {
        this.log.addSecret(key);
        this.#keys.set(entry.id, key);
      }
    }
    if (unreadable > 0) this.log.info(`--key-cache ${this.path}: ${unreadable} entries were made with another JWT secret or site; those keys will be fetched again`);
    this.#handle = handle;
    // Superseded lines and tombstones pile up over many nightly runs: rewrite when they dominate.
    if (lines > 64 && lines > 2 * this.#keys.size) await this.#compact();
  }

  async #compact(): Promise<void> {
    const temp = `${this.path}.${process.pid}.tmp`;
    const out = await open(temp, 'w', 0o600);
    try {
      const lines = [...this.#keys].map(([id, key]) => JSON.stringify(this.#seal(id, key)));
      await out.writeFile(lines.length ? lines.join('\n') + '\n' : '');
      await out.sync();
    } finally {
      await out.close();
    }
    await chmod(temp, 0o600);
    await rename(temp, this.path);
    await this.#handle?.close();
    this.#handle = await open(this.path, 'a', 0o600);
  }

  /** Appends in order. A failed write costs a later re-fetch, not the row: it is only reported. */
  #append(entry: Entry): Promise<void> {
    const line = JSON.stringify(entry) + '\n';
    this.#writes = this.#writes.then(async () => {
      try {
        if (!this.#handle) this.#handle = await open(this.path, 'a', 0o600);
        await this.#handle.appendFile(line);
      } catch (error) {
        this.log.warn(`--key-cache ${this.path}: cannot write (${(error as NodeJS.ErrnoException).code ?? String(error)}); the key will be fetched again next run`);
      }
    });
    return this.#writes;
  }
}
