// Kept images (ledger/backups.ts): content-addressed, beside the ledger, written whole or not
// at all, checked against their name when read back.
import { readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { BackupStore, PRUNE_GRACE_MS, backupDirFor, imageExt, isBackupRef, pruneBackups } from '../../src/ledger/backups.js';
import { tempDir } from '../support/cli.js';

const png = (seed: number) => sharp({ create: { width: 8, height: 8, channels: 3, background: { r: seed, g: 0, b: 0 } } }).png().toBuffer();

describe('backups beside the ledger', () => {
  test('the folder follows the ledger: backup/ in the ledger\'s own folder', () => {
    expect(backupDirFor('/home/ops/.local/state/avatar-import/zulip-chat.example.com.jsonl')).toBe('/home/ops/.local/state/avatar-import/backup');
    expect(backupDirFor('/srv/hr/people.ledger.jsonl')).toBe('/srv/hr/backup');
  });

  test('an image is kept as backup/<sha256>.<format>, mode 0600, and read back as the same bytes', async () => {
    const store = new BackupStore(join(await tempDir(), 'backup'));
    const image = await png(1);
    const ref = await store.put(image);
    expect(ref).toMatch(/^backup\/[0-9a-f]{64}\.png$/);
    expect(isBackupRef(ref)).toBe(true);
    expect((await stat(join(store.dir, ref.slice(7)))).mode & 0o777).toBe(0o600);
    const kept = await store.get(ref);
    expect(kept.bytes.equals(image)).toBe(true);
    expect(kept.ext).toBe('png');
  });

  test('the same image kept twice (two users, two sites, two runs) is one file; different images never share a name', async () => {
    const store = new BackupStore(join(await tempDir(), 'backup'));
    const [a, b] = [await png(1), await png(2)];
    const first = await store.put(a);
    // An old file is renewed when named again, so pruning spares it until the ledger names it.
    const old = new Date(Date.now() - 86_400_000);
    await utimes(join(store.dir, first.slice(7)), old, old);
    expect(await store.put(a)).toBe(first);
    expect((await stat(join(store.dir, first.slice(7)))).mtimeMs).toBeGreaterThan(old.getTime() + 1000);
    expect(await store.put(b)).not.toBe(first);
    expect((await readdir(store.dir)).filter((name) => !name.startsWith('.')).sort()).toHaveLength(2);
    // No temp file is left behind.
    expect((await readdir(store.dir)).some((name) => name.endsWith('.tmp'))).toBe(false);
  });

  test('a kept file whose content changed is refused, never uploaded as if it were the old avatar', async () => {
    const store = new BackupStore(join(await tempDir(), 'backup'));
    const ref = await store.put(await png(3));
    await writeFile(join(store.dir, ref.slice(7)), await png(4));
    await expect(store.get(ref)).rejects.toThrow(/not the image that was kept/);
    await expect(store.get('backup/' + '0'.repeat(64) + '.png')).rejects.toThrow(/cannot be read \(ENOENT\)/);
  });

  test('only images that can be uploaded again are kept; what they are is read from the bytes', async () => {
    const store = new BackupStore(join(await tempDir(), 'backup'));
    await expect(store.put(Buffer.from('<p>File not found</p>'))).rejects.toThrow(/not an image/);
    expect(imageExt(await sharp(await png(1)).jpeg().toBuffer())).toBe('jpg');
    expect(imageExt(await sharp(await png(1)).webp().toBuffer())).toBe('webp');
    expect(imageExt(await sharp(await png(1)).gif().toBuffer())).toBe('gif');
    expect(isBackupRef('default')).toBe(false);
    expect(isBackupRef('backup/../../etc/passwd')).toBe(false);
  });
});

describe('pruning kept images no ledger names', () => {
  test('an image named by any ledger of the folder stays; an unnamed one goes once older than a day; a fresh one stays', async () => {
    const folder = await tempDir();
    const store = new BackupStore(backupDirFor(join(folder, 'zulip.jsonl')));
    const [mine, sibling, gone, fresh] = [await store.put(await png(1)), await store.put(await png(2)), await store.put(await png(3)), await store.put(await png(4))];
    const line = (previous: string) => JSON.stringify({ type: 'row', run: 'r', user: 'u', target: 'zulip:x', status: 'ok', remote: '3', previous }) + '\n';
    await writeFile(join(folder, 'zulip.jsonl'), line(mine) + line('default'));
    // A shard's ledger (or another target's) shares the folder, so its names count too.
    await writeFile(join(folder, 'zulip.shard-2-of-2.jsonl'), line(sibling));
    // Not a ledger: never mistaken for one, whatever it says.
    await writeFile(join(folder, 'people.csv'), `email,photo\n"previous":"${gone}"\n`);
    const old = new Date(Date.now() - PRUNE_GRACE_MS - 60_000);
    for (const ref of [mine, sibling, gone]) await utimes(join(store.dir, ref.slice(7)), old, old);
    const leftover = join(store.dir, '.deadbeef.png.123-abcd.tmp');
    await writeFile(leftover, 'half');
    await utimes(leftover, old, old);

    const result = await pruneBackups(join(folder, 'zulip.jsonl'));

    expect(result).toEqual({ removed: 1, bytes: (await png(3)).length, kept: 3 });
    const left = (await readdir(store.dir)).sort();
    expect(left).toEqual([mine, sibling, fresh].map((ref) => ref.slice(7)).sort());
  });

  test('no backup folder: nothing is read or removed', async () => {
    const folder = await tempDir();
    await writeFile(join(folder, 'hr.jsonl'), '');
    expect(await pruneBackups(join(folder, 'hr.jsonl'))).toBeUndefined();
  });
});
