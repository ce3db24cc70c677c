import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readLedger, rowLines, runCli, tempDir } from '../support/cli.js';
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
      const lines = rowLines(await readLedger(join(dir, 'people.ledger.jsonl')));
      expect(lines.find((l) => l.user === 'ana')?.status).toBe('ok');
      expect(lines.find((l) => l.user === 'ben')?.error?.code).toBe('url_not_allowed');
      expect(requests).toEqual(['/photos/ana.jpg?signature=TOPSECRET']); // ben's host was never contacted
      const ledgerText = await readFile(join(dir, 'people.ledger.jsonl'), 'utf8');
      expect(ledgerText).not.toContain('s3cret');
      expect(ledgerText).not.toContain('TOPSECRET');
      expect(result.stdout + result.stderr).not.toContain('TOPSECRET');
    } finally {
      server.close();
    }
  });
});
