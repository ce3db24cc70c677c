// The images a target keeps before it replaces an avatar it cannot set again by reference (Zulip:
// an uploaded avatar is gone from the API's point of view once replaced), so that rollback can
// upload them again. They live beside the ledger that records them, in `<ledger folder>/backup/`:
// `$XDG_STATE_HOME/avatar-import/backup/` for the default ledgers, and wherever `--ledger` puts
// its file otherwise, so a ledger and the backups it names move together.
//
// Files are content-addressed (`<sha256>.<ext>`): two users, sites or runs can never overwrite
// each other's image with a different one, and the same image kept twice is one file. The ledger
// names a backup by its path relative to the ledger's folder (`backup/<sha256>.png`), checked
// against its hash on every read. A file is written to a temp name, fsynced, then renamed and the
// folder fsynced: a kill leaves either no backup (the row was not changed either: the backup is
// made first) or a whole one.
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, stat, unlink, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** The folder, under the ledger's own folder. */
export const BACKUP_FOLDER = 'backup';

/** What a ledger's `previous` holds for a kept image: `backup/<64 hex>.<ext>`. */
const REF = /^backup\/([0-9a-f]{64})\.(png|jpg|gif|webp)$/;

/** The backups folder of a ledger file. */
export function backupDirFor(ledgerPath: string): string {
  return join(dirname(ledgerPath), BACKUP_FOLDER);
}

/** Whether a ledger value names a kept image. */
export function isBackupRef(value: string | undefined): value is string {
  return value !== undefined && REF.test(value);
}

export interface KeptImage {
  readonly bytes: Buffer;
  /** `png`, `jpg`, `gif` or `webp`, from the bytes themselves. */
  readonly ext: string;
}

/** The image format of some bytes, from their magic number; undefined for anything else. */
export function imageExt(bytes: Buffer): string | undefined {
  if (bytes.length >= 8 && bytes.readUInt32BE(0) === 0x89504e47 && bytes.readUInt32BE(4) === 0x0d0a1a0a) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpg';
  if (bytes.length >= 6 && /^GIF8[79]a$/.test(bytes.subarray(0, 6).toString('latin1'))) return 'gif';
  if (bytes.length >= 12 && bytes.subarray(0, 4).toString('latin1') === 'RIFF' && bytes.subarray(8, 12).toString('latin1') === 'WEBP') return 'webp';
  return undefined;
}

export class BackupStore {
  constructor(readonly dir: string) {}

  /** Keep `bytes` (an image) and return the reference to record. Idempotent: an image kept before
   * is not written again, only its modification time renewed (pruning spares recent files, so a
   * run that is about to name it in the ledger does not race `ledger compact`). */
  async put(bytes: Buffer): Promise<string> {
    const ext = imageExt(bytes);
    if (ext === undefined) throw new Error('not an image in a format that can be uploaded again (PNG, JPEG, GIF, WebP)');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const name = `${sha256}.${ext}`;
    const path = join(this.dir, name);
    const existing = await stat(path).catch(() => undefined);
    if (existing?.isFile() && existing.size === bytes.length) {
      const now = new Date();
      await utimes(path, now, now);
      return `${BACKUP_FOLDER}/${name}`;
    }
    // Users' photos are personal data: only the account that runs the tool reads them.
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const temp = join(this.dir, `.${name}.${process.pid}-${randomUUID().slice(0, 8)}.tmp`);
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(bytes);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    try {
      await rename(temp, path);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    await syncFolder(this.dir);
    return `${BACKUP_FOLDER}/${name}`;
  }

  /** The image a reference names, checked against its hash. Throws when it is missing or not
   * what was kept (the message says which). */
  async get(ref: string): Promise<KeptImage> {
    const match = REF.exec(ref);
    if (!match) throw new Error(`${ref} does not name a kept image`);
    const path = join(this.dir, `${match[1]}.${match[2]}`);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (error) {
      throw new Error(`${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
    if (createHash('sha256').update(bytes).digest('hex') !== match[1]) throw new Error(`${path} is not the image that was kept (its content changed)`);
    return { bytes, ext: match[2]! };
  }
}

async function syncFolder(dir: string): Promise<void> {
  const folder = await open(dir, 'r');
  try {
    await folder.sync().catch(() => undefined); // not every filesystem syncs folders
  } finally {
    await folder.close();
  }
}
