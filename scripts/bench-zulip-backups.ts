// What keeping Zulip's replaced avatars costs (issue 13): N users who uploaded their own photo,
// one import that replaces them all (--replace-existing), so every row downloads and keeps one
// image before its upload; then the same import over users on the default avatar (nothing to keep)
// for comparison; then `ledger compact` once the kept images are a day old and named by no line.
// The fake Zulip renders its 500 px PNGs with libvips (sharp), as Zulip does with pyvips.
// Usage: npx tsx scripts/bench-zulip-backups.ts [users]   (default 200)
import { readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cameraPhoto } from '../testkit/images.js';
import { FakeZulip } from '../testkit/servers/zulip.js';
import { benchDir, measureCli, summaryLine } from './lib/bench.js';

const users = Number(process.argv[2] ?? 200);
const dir = await benchDir(`zulip-backups-${users}`);
await rm(join(dir, 'state'), { recursive: true, force: true });
await rm(join(dir, 'photos'), { recursive: true, force: true });
const { mkdir } = await import('node:fs/promises');
await mkdir(join(dir, 'photos'), { recursive: true });

async function scenario(label: string, ownPhotos: boolean): Promise<void> {
  const zulip = await FakeZulip.start({ userRateLimit: { requests: 1_000_000, windowMs: 60_000 } });
  try {
    const emails = Array.from({ length: users }, (_, i) => `person${i}@corp.example`);
    for (const [i, email] of emails.entries()) {
      zulip.addUser(email);
      // Their own upload: a 4:3 camera photo, as people upload them.
      if (ownPhotos) {
        zulip.userChangesAvatar(email, await cameraPhoto({ width: 1600, height: 1200, seed: 5000 + i, quality: 85 }));
        // A real server rendered its PNGs at upload time: not part of what the import costs.
        await zulip.avatarImage(email, 'medium');
      }
    }
    const lines = ['email,photo'];
    for (const [i, email] of emails.entries()) {
      const photo = join(dir, 'photos', `p${i}.jpg`);
      await writeFile(photo, await cameraPhoto({ width: 1200, height: 900, seed: i + 1, quality: 85 }));
      lines.push(`${email},${photo}`);
    }
    const csv = join(dir, 'people.csv');
    await writeFile(csv, lines.join('\n') + '\n');
    const rc = join(dir, 'admin.zuliprc');
    await writeFile(rc, `[api]\nemail=${zulip.admin.email}\nkey=${zulip.admin.apiKey}\nsite=${zulip.url}\n`, { mode: 0o600 });
    const keys = join(dir, 'keys.csv');
    await writeFile(keys, ['email,api_key', ...emails.map((e) => `${e},${zulip.keyOf(e)}`)].join('\n') + '\n', { mode: 0o600 });
    const ledger = join(dir, 'state', label, 'zulip.jsonl');
    await mkdir(join(dir, 'state', label), { recursive: true });

    process.env['ZULIP_EMAIL'] = '';
    process.env['ZULIP_API_KEY'] = '';
    const run = await measureCli([csv, '--target', 'zulip', '--admin-zuliprc', rc, '--credentials', keys, '--ledger', ledger, '--replace-existing', '--progress', 'off']);
    const backup = join(dir, 'state', label, 'backup');
    const files = await readdir(backup).catch(() => [] as string[]);
    let bytes = 0;
    let largest = 0;
    for (const file of files) {
      const size = (await stat(join(backup, file))).size;
      bytes += size;
      largest = Math.max(largest, size);
    }
    const downloads = zulip.server.requests.filter((r) => r.route === 'user_avatars').length;
    console.log(`${label}: ${users} users, exit ${run.code}, ${run.seconds.toFixed(1)} s wall, ${run.cpuSeconds.toFixed(1)} s CPU, ${run.peakRssMiB.toFixed(0)} MiB peak; ${summaryLine(run.stdout)}`);
    console.log(`  ${downloads} avatar downloads; backup/: ${files.length} files, ${(bytes / 1024 / 1024).toFixed(1)} MiB, ${files.length ? (bytes / files.length / 1024).toFixed(0) : 0} KiB each on average, largest ${(largest / 1024).toFixed(0)} KiB`);

    if (files.length > 0) {
      // Import again with new photos: every line that named the first images now names others,
      // but the first run's lines stay (rollback of run 1 needs them) until compaction drops them.
      for (const [i] of emails.entries()) await writeFile(join(dir, 'photos', `p${i}.jpg`), await cameraPhoto({ width: 1200, height: 900, seed: 900 + i, quality: 85 }));
      await measureCli([csv, '--target', 'zulip', '--admin-zuliprc', rc, '--credentials', keys, '--ledger', ledger, '--progress', 'off']);
      const old = new Date(Date.now() - 2 * 86_400_000);
      for (const file of await readdir(backup)) await utimes(join(backup, file), old, old);
      const compact = await measureCli(['ledger', 'compact', '--ledger', ledger, '--keep-runs', '1'], { keepStdout: true });
      console.log(`  after a second import, ledger compact --keep-runs 1: ${compact.seconds.toFixed(1)} s; ${compact.stdout.trim().replace(/^.*; backup\//, 'backup/')}`);
    }
  } finally {
    await zulip.close();
  }
}

await scenario('own-uploads', true);
await scenario('gravatars', false);
