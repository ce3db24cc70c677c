import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dirLedger, readLedger, rowLines, runCli, tempDir } from '../support/cli.js';
import { photo } from '../support/photos.js';

describe('image URLs', () => {
  test('are fetched only from --allow-host hosts, and no credential or signed query reaches the ledger', async () => {
    const jpeg = await photo(3);
    const requests: string[] = [];
    const server = createServer((request, response) => {
      requests.push(request.url ?? '');
      response.writeHead(200, { 'content-type': 'image/jpeg' }).end(jpeg);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const dir = await tempDir();
      await writeFile(
        join(dir, 'people.csv'),
        `id,photo\nana,http://hr:s3cret@127.0.0.1:${port}/photos/ana.jpg?signature=TOPSECRET\nben,http://localhost:${port}/photos/ben.jpg\n`,
      );

      const result = await runCli([join(dir, 'people.csv'), '--out', join(dir, 'avatars'), '--allow-host', '127.0.0.1', '--progress', 'off']);

      expect(result.code).toBe(1);
      const lines = rowLines(await readLedger(dirLedger(join(dir, 'avatars'))));
      expect(lines.find((l) => l.user === 'ana')?.status).toBe('ok');
      expect(lines.find((l) => l.user === 'ben')?.error?.code).toBe('url_not_allowed');
      expect(requests).toEqual(['/photos/ana.jpg?signature=TOPSECRET']); // ben's host was never contacted
      const ledgerText = await readFile(dirLedger(join(dir, 'avatars')), 'utf8');
      expect(ledgerText).not.toContain('s3cret');
      expect(ledgerText).not.toContain('TOPSECRET');
      expect(result.stdout + result.stderr).not.toContain('TOPSECRET');
    } finally {
      server.close();
    }
  });
});

describe('URL rows that fail before the URL is even parsed', () => {
  // What a kill-switch audit found: the raw cell went into the ledger's `source` and into the
  // messages on stdout and stderr, credentials and signature included.
  const cells = [
    ['host', 'http://ana:S3cretPw@files.example.com/ana.jpg?sig=TOPSIGNATURE'],
    ['invalid', 'http://ana:S3cretPw@[not-a-host/ana.jpg?sig=TOPSIGNATURE'],
    ['scheme', 'ftp://ana:S3cretPw@files.example.com/ana.jpg?sig=TOPSIGNATURE'],
    ['fragment', 'https://ana:S3cretPw@files.example.com/ana.jpg#access_token=TOPSIGNATURE'],
  ];

  test.each([['a run', []], ['a dry run', ['--dry-run']]])('leave no credential or signed query in %s: ledger, stdout or stderr', async (_name, extra) => {
    const dir = await tempDir();
    await writeFile(join(dir, 'people.csv'), `id,photo\n${cells.map(([id, url]) => `${id},${url}`).join('\n')}\n`);

    const result = await runCli([join(dir, 'people.csv'), '--out', join(dir, 'avatars'), '--allow-host', '127.0.0.1', '--progress', 'off', '--verbose', ...extra]);

    expect(result.code).toBe(1);
    const ledgerText = await readFile(dirLedger(join(dir, 'avatars')), 'utf8').catch(() => '');
    for (const text of [ledgerText, result.stdout, result.stderr]) {
      expect(text).not.toContain('S3cretPw');
      expect(text).not.toContain('TOPSIGNATURE');
    }
    if (extra.length === 0) {
      const lines = rowLines(await readLedger(dirLedger(join(dir, 'avatars'))));
      expect(lines.map((l) => l.error?.code)).toEqual(['url_not_allowed', 'url_not_allowed', 'url_not_allowed', 'url_not_allowed']);
      // Still says which file was asked for, minus the secrets.
      expect(lines[0]!.source).toBe('http://files.example.com/ana.jpg?…');
      expect(lines[2]!.source).toBe('ftp://files.example.com/ana.jpg?…');
    }
  });
});
