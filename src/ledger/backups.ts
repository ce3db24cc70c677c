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
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, stat, unlink, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

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

/**
 * How long a kept image is spared whatever the ledgers say. A run names an image in its ledger
 * right after keeping it (the upload's time, at most a request's timeout, later), and keeping an
 * image that is there already renews it: so an image of a run still going is never taken for one
 * no ledger needs.
 */
export const PRUNE_GRACE_MS = 24 * 60 * 60 * 1000;

export interface PruneResult {
  readonly removed: number;
  /** Bytes freed. */
  readonly bytes: number;
  readonly kept: number;
}

/**
 * Remove the kept images that no ledger in the ledger's folder names any more (after `ledger
 * compact` dropped the lines of runs too old to roll back), older than PRUNE_GRACE_MS. Every
 * ledger of the folder counts, since they share `backup/` (a shard's, another target's): every
 * top-level file that holds JSON Lines is read, streaming, for `"previous":"backup/…"`.
 * Undefined when there is no backup folder (nothing read then).
 */
export async function pruneBackups(ledgerPath: string, now = Date.now()): Promise<PruneResult | undefined> {
  const dir = backupDirFor(ledgerPath);
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => undefined);
  if (!entries) return undefined;
  const named = await namedBackups(dirname(ledgerPath));
  let removed = 0;
  let bytes = 0;
  let kept = 0;
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const image = /^[0-9a-f]{64}\.(png|jpg|gif|webp)$/.test(entry.name);
    // A temp file a killed write left behind (`.<name>.<pid>-<id>.tmp`) goes once it is old too.
    const leftover = /^\..+\.tmp$/.test(entry.name);
    if (!image && !leftover) continue;
    if (image && named.has(`${BACKUP_FOLDER}/${entry.name}`)) {
      kept++;
      continue;
    }
    const path = join(dir, entry.name);
    const info = await stat(path).catch(() => undefined);
    if (!info) continue;
    if (now - info.mtimeMs < PRUNE_GRACE_MS) {
      if (image) kept++;
      continue;
    }
    await unlink(path).catch(() => undefined);
    if (image) {
      removed++;
      bytes += info.size;
    }
  }
  return { removed, bytes, kept };
}

const NAMED = /"previous":"(backup\/[0-9a-f]{64}\.(?:png|jpg|gif|webp))"/;

/** Every kept image a ledger in `folder` names. */
async function namedBackups(folder: string): Promise<Set<string>> {
  const named = new Set<string>();
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(folder, entry.name);
    if (!(await startsWithJson(path))) continue;
    const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
    for await (const line of lines) {
      const match = line.includes('"previous":"backup/') ? NAMED.exec(line) : null;
      if (match) named.add(match[1]!);
    }
  }
  return named;
}

/** Throws when the file cannot be read: a ledger that cannot be read may name any image, so
 * nothing may be pruned then. */
async function startsWithJson(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { bytesRead, buffer } = await handle.read(Buffer.alloc(1), 0, 1, 0);
    return bytesRead === 1 && buffer[0] === 0x7b; // '{'
  } finally {
    await handle.close();
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
