import { readFile, readdir, stat, utimes, writeFile, rm, mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { avatarsIn, dirLedger, lastRun, readLedger, rowLines, runCli, tempDir } from '../support/cli.js';
import { photo, writePeople } from '../support/photos.js';

// The whole tool as an admin runs it: CSV in, avatars/ out, one ledger line per row, exit codes.

const people = (n: number, offset = 0) =>
  Array.from({ length: n }, (_, i) => ({ id: `user${i + offset}`, image: `photos/p${i + offset}.jpg`, seed: i + offset }));

describe('avatar-import --target dir', () => {
  test('turns every row into a square JPEG, records it, and exits 0', async () => {
    const dir = await tempDir();
    const csv = await writePeople(dir, people(3));
    const out = join(dir, 'avatars');

    const result = await runCli([csv, '--target', 'dir', '--out', out, '--progress', 'off']);

    expect(result.stderr).not.toMatch(/error/i);
    expect(result.code).toBe(0);
    expect(await avatarsIn(out)).toEqual(['user0.jpg', 'user1.jpg', 'user2.jpg']);
    const meta = await sharp(join(out, 'user0.jpg')).metadata();
    expect(meta.format).toBe('jpeg');
    expect(meta.width).toBe(meta.height);
    expect(meta.width).toBe(300); // 400×300 source: a 300 px square, never upscaled to 512
    const lines = rowLines(await readLedger(dirLedger(join(dir, 'avatars'))));
    expect(lines.map((l) => l.status)).toEqual(['ok', 'ok', 'ok']);
    for (const line of lines) {
      for (const key of ['ts', 'run', 'row', 'user', 'source', 'sourceSha256', 'outputSha256', 'bytes', 'edge', 'status', 'target']) {
        expect(line).toHaveProperty(key);
      }
    }
    expect(result.stdout).toMatch(/3 rows .*3 ok, 0 skipped, 0 failed/);
    // The state travels with the avatars: a hidden folder in the output folder.
    expect(result.stdout).toContain(`ledger: ${join(out, '.avatar-import', 'ledger.jsonl')}`);
    expect(await readdir(out)).toContain('.avatar-import');
  });

  test('a second run does no work: every row is skipped without reading an image', async () => {
    const dir = await tempDir();
    const csv = await writePeople(dir, people(3));
    const out = join(dir, 'avatars');
    expect((await runCli([csv, '--out', out, '--progress', 'off'])).code).toBe(0);
    const written = (await stat(join(out, 'user1.jpg'))).mtimeMs;

    // Same size and mtime but other bytes: only a run that reads the image could notice.
    const source = join(dir, 'photos/p1.jpg');
    const before = await stat(source);
    const bytes = await readFile(source);
    bytes[bytes.length - 3] ^= 0xff;
    await writeFile(source, bytes);
    await utimes(source, before.atime, before.mtime);

    const again = await runCli([csv, '--out', out, '--progress', 'off']);
    expect(again.code).toBe(0);
    expect(lastRun(await readLedger(dirLedger(join(dir, 'avatars')))).map((l) => l.status)).toEqual(['skipped', 'skipped', 'skipped']);
    expect((await stat(join(out, 'user1.jpg'))).mtimeMs).toBe(written);

    // --checksum compares content, so it does see the change.
    const cheap = lastRun(await readLedger(dirLedger(join(dir, 'avatars')))).find((l) => l.user === 'user1');
    expect(again.stdout).toContain('images read: 0 (0 B)');

    // --checksum compares content, so it reads the photo and records its new digest (the
    // flipped byte does not change the decoded pixels, so the avatar itself stays as it was).
    const checked = await runCli([csv, '--out', out, '--progress', 'off', '--checksum']);
    expect(checked.code).toBe(0);
    expect(checked.stdout).toMatch(/images read: 3 /);
    const content = lastRun(await readLedger(dirLedger(join(dir, 'avatars')))).find((l) => l.user === 'user1');
    expect(content?.sourceSha256).not.toBe(cheap?.sourceSha256);
  });

  test('a changed photo is redone and only that one', async () => {
    const dir = await tempDir();
    const csv = await writePeople(dir, people(3));
    const out = join(dir, 'avatars');
    await runCli([csv, '--out', out, '--progress', 'off']);
    await writeFile(join(dir, 'photos/p2.jpg'), await photo(99));

    const result = await runCli([csv, '--out', out, '--progress', 'off']);
    expect(result.code).toBe(0);
    const statuses = Object.fromEntries(lastRun(await readLedger(dirLedger(join(dir, 'avatars')))).map((l) => [l.user, l.status]));
    expect(statuses).toEqual({ user0: 'skipped', user1: 'skipped', user2: 'ok' });
  });

  test('an avatar deleted from the output folder is written again', async () => {
    const dir = await tempDir();
    const csv = await writePeople(dir, people(2));
    const out = join(dir, 'avatars');
    await runCli([csv, '--out', out, '--progress', 'off']);
    await rm(join(out, 'user0.jpg'));

    await runCli([csv, '--out', out, '--progress', 'off']);
    const statuses = Object.fromEntries(lastRun(await readLedger(dirLedger(join(dir, 'avatars')))).map((l) => [l.user, l.status]));
    expect(statuses).toEqual({ user0: 'ok', user1: 'skipped' });
    expect(await avatarsIn(out)).toEqual(['user0.jpg', 'user1.jpg']);
  });

  test('bad rows fail alone with stable codes, the others go through, exit 1', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'photos'), { recursive: true });
    await writeFile(join(dir, 'photos/good.jpg'), await photo(1));
    await writeFile(join(dir, 'photos/corrupt.jpg'), Buffer.from('this is not a jpeg at all'));
    await writeFile(join(dir, 'photos/tiny.jpg'), await photo(2, 40, 40));
    await writeFile(join(dir, 'photos/logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200"><rect width="200" height="200" fill="red"/></svg>');
    await writeFile(join(dir, 'secret.jpg'), await photo(3));
    await writeFile(
      join(dir, 'people.csv'),
      [
        'email,photo',
        'ana@corp.example,good.jpg',
        'ben@corp.example,missing.jpg',
        'cy@corp.example,corrupt.jpg',
        'di@corp.example,tiny.jpg',
        'ed@corp.example,logo.svg',
        'fay@corp.example,../secret.jpg',
        'gus@corp.example,',
        ',good.jpg',
        'ana@corp.example,good.jpg',
        'hal@corp.example,ftp://example.org/hal.jpg',
      ].join('\n') + '\n',
    );
    await writeFile(join(dir, 'secret.jpg'), await photo(3));

    const result = await runCli([join(dir, 'people.csv'), '--out', join(dir, 'avatars'), '--images-dir', join(dir, 'photos'), '--progress', 'off']);

    expect(result.code).toBe(1);
    const lines = rowLines(await readLedger(dirLedger(join(dir, 'avatars'))));
    expect(lines).toHaveLength(10);
    const byRow = Object.fromEntries(lines.map((l) => [l.row, l.status === 'failed' ? l.error?.code : l.reason ? `${l.status}:${l.reason}` : l.status]));
    expect(byRow).toEqual({
      1: 'ok',
      2: 'file_not_found',
      3: 'unsupported_image',
      4: 'image_too_small',
      5: 'unsupported_image',
      6: 'path_outside_images_dir',
      7: 'skipped:no_photo', // no photo is not a failure (--require-photo makes it one)
      8: 'missing_value',
      9: 'duplicate_user',
      10: 'url_not_allowed',
    });
    expect(lines.find((l) => l.row === 5)?.error?.message).toMatch(/--allow-svg/);
    expect(lines.find((l) => l.row === 9)?.error?.message).toMatch(/row 1/);
    expect(result.stdout).toMatch(/1 ok, 1 skipped \(1 with no photo\), 8 failed \(8 new, 0 as last time\)/);
    expect(result.stdout).toMatch(/unsupported_image\s+2\s+e\.g\. row 3/);
  });

  test('a symlink that escapes the images folder is refused', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'photos'), { recursive: true });
    await writeFile(join(dir, 'outside.jpg'), await photo(5));
    await symlink(join(dir, 'outside.jpg'), join(dir, 'photos/link.jpg'));
    await writeFile(join(dir, 'people.csv'), 'id,image\nzed,link.jpg\n');

    const result = await runCli([join(dir, 'people.csv'), '--out', join(dir, 'avatars'), '--images-dir', join(dir, 'photos'), '--progress', 'off']);
    expect(result.code).toBe(1);
    expect(rowLines(await readLedger(dirLedger(join(dir, 'avatars'))))[0]?.error?.code).toBe('path_outside_images_dir');
  });

  test('failed rows that can heal are tried again; the others only when their input changes or with --retry-failed', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'photos'), { recursive: true });
    await writeFile(join(dir, 'photos/corrupt.jpg'), Buffer.from('garbage'));
    await writeFile(join(dir, 'people.csv'), 'id,image\nlate,photos/late.jpg\nbroken,photos/corrupt.jpg\n');
    const args = [join(dir, 'people.csv'), '--out', join(dir, 'avatars'), '--progress', 'off'];
    expect((await runCli(args)).code).toBe(1);

    await writeFile(join(dir, 'photos/late.jpg'), await photo(7)); // the missing photo arrives
    const second = await runCli(args);
    // The one failure left failed the same way last time: exit 4, not 1 (nothing new to page on).
    expect(second.code).toBe(4);
    let run = Object.fromEntries(lastRun(await readLedger(dirLedger(join(dir, 'avatars')))).map((l) => [l.user, l]));
    expect(run['late']?.status).toBe('ok');
    expect(run['broken']?.status).toBe('failed');
    expect(run['broken']?.reason).toBe('unchanged_since_failure');

    await runCli([...args, '--retry-failed']);
    run = Object.fromEntries(lastRun(await readLedger(dirLedger(join(dir, 'avatars')))).map((l) => [l.user, l]));
    expect(run['late']?.status).toBe('skipped');
    expect(run['broken']?.error?.code).toBe('unsupported_image');
    expect(run['broken']?.reason).toBeUndefined();

    await writeFile(join(dir, 'photos/corrupt.jpg'), await photo(8)); // fixed at the source
    expect((await runCli(args)).code).toBe(0);
  });

  test('--dry-run normalises everything but writes neither avatars nor ledger', async () => {
    const dir = await tempDir();
    const csv = await writePeople(dir, [...people(2), { id: 'nobody', image: 'photos/none.jpg' }]);
    const out = join(dir, 'avatars');

    const result = await runCli([csv, '--out', out, '--dry-run', '--progress', 'off']);

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/row 1 user0: would write \(300px/);
    expect(result.stdout).toMatch(/row 3 nobody: would fail: file_not_found/);
    await expect(stat(dirLedger(join(dir, 'avatars')))).rejects.toThrow();
    expect(await readdir(out).catch(() => [])).toEqual([]);
  });

  test('two users never share a file, whatever their ids look like: a clash fails the later row', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'photos'), { recursive: true });
    await writeFile(join(dir, 'photos/a.jpg'), await photo(1));
    const ids = ['Ana', 'ana', '../etc/passwd', 'a/b', 'a%2Fb', 'CON', '.hidden', 'x'.repeat(300), 'Zoë', 'Jane.Doe@Example.org'];
    await writeFile(join(dir, 'people.csv'), 'id,image\n' + ids.map((id) => `"${id}",photos/a.jpg`).join('\n') + '\n');
    const out = join(dir, 'avatars');

    const result = await runCli([join(dir, 'people.csv'), '--out', out, '--progress', 'off']);

    expect(result.code).toBe(1);
    const files = await avatarsIn(out);
    expect(files).toHaveLength(ids.length - 1);
    expect(new Set(files.map((f) => f.toLowerCase())).size).toBe(ids.length - 1); // case-insensitive file systems too
    for (const file of files) expect(file).toMatch(/^[^/\\]+\.jpg$/);
    expect(files).toEqual(expect.arrayContaining(['ana.jpg', 'zoë.jpg', 'jane.doe@example.org.jpg']));
    const failed = rowLines(await readLedger(dirLedger(out))).filter((line) => line.status === 'failed');
    expect(failed.map((line) => [line.user, line.error?.code])).toEqual([['ana', 'duplicate_file_name']]);
    expect(failed[0]!.error?.message).toMatch(/^"ana" would be written to ana\.jpg, the file of "Ana" \(row 1\)/);
  });

  test('a user whose file name is their own id holds it for the run, as the first row, whatever comes later, on a re-run too', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'photos'), { recursive: true });
    await writeFile(join(dir, 'photos/a.jpg'), await photo(1));
    // "ana" and "a%2fb" are file names of their own users; "a/b" is written to a%2Fb.jpg, which is
    // not the file of the user called "a%2fb" (a%252fb.jpg).
    const ids = ['ana', 'a%2fb', 'Ana', 'a/b', 'ANA'];
    await writeFile(join(dir, 'people.csv'), 'id,image\n' + ids.map((id) => `"${id}",photos/a.jpg`).join('\n') + '\n');
    const out = join(dir, 'avatars');

    for (const night of [1, 2]) {
      const result = await runCli([join(dir, 'people.csv'), '--out', out, '--progress', 'off']);
      expect(result.code).toBe(night === 1 ? 1 : 4); // 4: failed as last time, nothing new
      const all = rowLines(await readLedger(dirLedger(out)));
      const lines = all.filter((line) => line.run === all.at(-1)!.run);
      expect(lines.filter((line) => line.status === 'failed').map((line) => [line.row, line.user, line.error?.code])).toEqual([
        [3, 'Ana', 'duplicate_file_name'],
        [5, 'ANA', 'duplicate_file_name'],
      ]);
      expect(lines.find((line) => line.row === 3)!.error?.message).toMatch(/^"Ana" would be written to ana\.jpg, the file of "ana" \(row 1\)/);
      expect(lines.filter((line) => line.status !== 'failed').map((line) => line.user)).toEqual(['ana', 'a%2fb', 'a/b']);
      expect(night === 1 ? lines.every((line) => line.status !== 'skipped') : lines.filter((line) => line.status === 'skipped').length === 3).toBe(true);
    }
    expect((await avatarsIn(out)).sort()).toEqual(['a%252fb.jpg', 'a%2Fb.jpg', 'ana.jpg']);
  });

  test('reads the CSV from standard input with -', async () => {
    const dir = await tempDir();
    await writePeople(dir, people(2));
    const csv = await readFile(join(dir, 'people.csv'), 'utf8');

    const result = await runCli(['-', '--out', join(dir, 'avatars'), '--ledger', join(dir, 'stdin.ledger.jsonl'), '--images-dir', dir, '--progress', 'off'], { input: csv });

    expect(result.code).toBe(0);
    expect(rowLines(await readLedger(join(dir, 'stdin.ledger.jsonl'))).map((l) => l.status)).toEqual(['ok', 'ok']);
  });

  test('semicolon-separated, BOM, CRLF and quoted fields with commas and newlines', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'photos'), { recursive: true });
    await writeFile(join(dir, 'photos/a.jpg'), await photo(1));
    await writeFile(join(dir, 'photos/b.jpg'), await photo(2));
    const text = '\uFEFFUsername;Full name;Picture\r\nana;"Ortiz; Ana\r\nsecond line";photos/a.jpg\r\n\r\nben;"Bo, Ben";photos/b.jpg\r\n';
    await writeFile(join(dir, 'people.csv'), text);

    const result = await runCli([join(dir, 'people.csv'), '--out', join(dir, 'avatars'), '--progress', 'off']);

    expect(result.code).toBe(0);
    expect(await avatarsIn(join(dir, 'avatars'))).toEqual(['ana.jpg', 'ben.jpg']);
  });
});

describe('exit codes and usage errors', () => {
  test('a missing id column is a usage error naming the headers found (exit 2, nothing written)', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'people.csv'), 'name,photo\nAna,a.jpg\n');
    const result = await runCli([join(dir, 'people.csv'), '--out', join(dir, 'avatars'), '--progress', 'off']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/name, photo|"name".*"photo"|name.*photo/);
    await expect(stat(dirLedger(join(dir, 'avatars')))).rejects.toThrow();
  });

  test.each([
    [['--quality', '0'], /--quality/],
    [['--size', 'big'], /--size/],
    [['--max-bytes', '12 parsecs'], /--max-bytes/],
    [['--background', 'not-a-colour'], /--background/],
    [['--crop', 'sideways'], /crop/],
    [['--bogus-flag'], /bogus-flag/i],
    [['--target', 'ftp'], /target/],
    [['--allow-host', 'https://example.org/'], /--allow-host/],
  ])('%j is refused with exit 2 and a message naming the option', async (extra, pattern) => {
    const dir = await tempDir();
    await writePeople(dir, people(1));
    const result = await runCli([join(dir, 'people.csv'), '--out', join(dir, 'avatars'), ...extra]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(pattern);
    await expect(stat(join(dir, 'avatars'))).rejects.toThrow();
  });

  test('--target dir without --out is a usage error', async () => {
    const dir = await tempDir();
    await writePeople(dir, people(1));
    const result = await runCli([join(dir, 'people.csv')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--out/);
  });

  test('a CSV that does not exist is a usage error', async () => {
    const result = await runCli(['/nonexistent/people.csv', '--out', '/tmp/x']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/does not exist/);
  });

  test('--help shows every option with an example', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    for (const flag of ['--id-column', '--image-column', '--images-dir', '--allow-host', '--size', '--min-size', '--max-bytes', '--quality', '--crop', '--background', '--target', '--out', '--ledger', '--force', '--retry-failed', '--dry-run', '--jobs', '--concurrency', '--checksum', '--allow-svg', '--max-pixels']) {
      expect(result.stdout).toContain(flag);
    }
    expect(result.stdout).toMatch(/Examples:/);
  });
});

describe('huge cells', () => {
  test('are not copied whole into the ledger, the messages or the summary', async () => {
    const dir = await tempDir();
    const hugePath = `photos/${'p'.repeat(5 * 1024 * 1024)}.jpg`;
    const hugeId = `user${'x'.repeat(5 * 1024 * 1024)}`;
    await writeFile(join(dir, 'people.csv'), `user_id,photo\nuser0,${hugePath}\n${hugeId},photos/p1.jpg\n`);

    const run = await runCli([join(dir, 'people.csv'), '--out', join(dir, 'avatars'), '--progress', 'off', '--verbose']);
    const dry = await runCli([join(dir, 'people.csv'), '--out', join(dir, 'avatars'), '--progress', 'off', '--dry-run']);

    expect(run.code).toBe(1);
    expect(dry.code).toBe(4); // the same two failures as the run before it: nothing new
    const ledgerText = await readFile(dirLedger(join(dir, 'avatars')), 'utf8');
    expect(ledgerText.length).toBeLessThan(16 * 1024);
    for (const output of [run, dry]) expect(output.stdout.length + output.stderr.length).toBeLessThan(16 * 1024);
    // In row order: two rows that fail at once may finish, and be written, in either order.
    const lines = rowLines(await readLedger(dirLedger(join(dir, 'avatars')))).sort((a, b) => Number(a.row) - Number(b.row));
    expect(lines).toHaveLength(2);
    // The start of the cell as written, and a digest of all of it, so two long cells stay apart.
    expect(String(lines[0]!.source).startsWith(hugePath.slice(0, 1000))).toBe(true);
    expect(lines[0]!.source).toMatch(/sha256 [0-9a-f]{16}/);
    expect(lines[1]!.user).toMatch(/^userxxx.*sha256 [0-9a-f]{16}/);
  });
});
