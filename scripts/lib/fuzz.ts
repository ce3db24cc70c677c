// Fuzzing the CSV reader and the image stage through the whole tool (issue 11): fast-check builds
// mutated CSVs (random bytes, stray quotes, NULs, huge fields, invalid UTF-8, UTF-16) and mutated
// images (bit flips, truncation, wrong extensions, foreign magic numbers), and each case is one
// run of the CLI's main() in this process, against the dir target. Every case must end with exit
// 0, 1 or 2 within the time limit (no crash, no hang), and every data row it read must appear in
// the ledger exactly once (row numbers 1..n, none twice, none missing).
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import sharp from 'sharp';
import { main } from '../../src/cli/main.js';

export interface FuzzOptions {
  readonly runs: number;
  readonly seed: number;
  /** A case that has not ended by then is a hang. */
  readonly caseTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

export interface FuzzTally {
  cases: number;
  csvCases: number;
  imageCases: number;
  byExit: Record<string, number>;
  crashes: number;
  hangs: number;
  badExits: number;
  /** Cases whose ledger did not hold each data row exactly once. */
  accountingErrors: number;
  /** The first few failing cases, to reproduce. */
  failures: { kind: string; detail: string; csv: string }[];
}

type Mutation =
  | { op: 'bytes'; at: Position; bytes: Uint8Array }
  | { op: 'quote'; at: Position }
  | { op: 'nul'; at: Position }
  | { op: 'huge'; at: Position; size: number }
  | { op: 'invalid-utf8'; at: Position; bytes: readonly number[] }
  | { op: 'truncate'; at: Position }
  | { op: 'newline'; at: Position; text: string };

/** Where a mutation lands: mostly among the data rows (a header that cannot be read ends the run
 * before any row, exit 2, and would crowd out the cases that reach the rows), sometimes anywhere. */
const position = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 1_000_000 }).map((n) => ({ data: true, at: n / 1_000_000 })), weight: 4 },
  { arbitrary: fc.integer({ min: 0, max: 1_000_000 }).map((n) => ({ data: false, at: n / 1_000_000 })), weight: 1 },
);
type Position = { data: boolean; at: number };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('bytes' as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ op: fc.constant('quote' as const), at: position }),
  fc.record({ op: fc.constant('nul' as const), at: position }),
  fc.record({ op: fc.constant('huge' as const), at: position, size: fc.oneof(fc.integer({ min: 1_000, max: 100_000 }), fc.integer({ min: 1_000_000, max: 3_000_000 })) }),
  fc.record({ op: fc.constant('invalid-utf8' as const), at: position, bytes: fc.constantFrom([0xff], [0xc3, 0x28], [0x80], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82]) }),
  fc.record({ op: fc.constant('truncate' as const), at: position }),
  fc.record({ op: fc.constant('newline' as const), at: position, text: fc.constantFrom('\n', '\r\n', '\r', ',', ';', '\t', '""', '"\n"') }),
);

const csvCase = fc.record({
  rows: fc.integer({ min: 1, max: 8 }),
  mutations: fc.array(mutation, { minLength: 1, maxLength: 4 }),
  encoding: fc.constantFrom('utf8', 'utf8', 'utf8', 'utf8-bom', 'utf16le-bom', 'utf16le'),
});

type ImageMutation =
  | { op: 'flip'; bits: number[] }
  | { op: 'truncate'; at: number }
  | { op: 'magic'; magic: string }
  | { op: 'append'; bytes: Uint8Array };

const imageCase = fc.record({
  base: fc.constantFrom('jpeg', 'png', 'webp', 'gif', 'tiff', 'svg'),
  extension: fc.constantFrom('jpg', 'png', 'webp', 'gif', 'tif', 'svg', 'heic', 'pdf', 'txt', ''),
  mutations: fc.array(
    fc.oneof(
      fc.record({ op: fc.constant('flip' as const), bits: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 24 }) }).map((m) => ({ ...m, bits: m.bits.map((b) => b) })),
      fc.record({ op: fc.constant('truncate' as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
      fc.record({ op: fc.constant('magic' as const), magic: fc.constantFrom('%PDF-1.7\n', 'PK\x03\x04', '\x7fELF', 'GIF89a', 'RIFF\0\0\0\0WEBPVP8 ', '<svg xmlns="http://www.w3.org/2000/svg">', '\0\0\0\x18ftypheic', 'BM', '\x89PNG\r\n\x1a\n', '\xff\xd8\xff\xe0') }),
      fc.record({ op: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
    ) as fc.Arbitrary<ImageMutation>,
    { minLength: 0, maxLength: 3 },
  ),
});

async function baseImages(): Promise<Record<string, Buffer>> {
  const pixels = sharp({ create: { width: 160, height: 120, channels: 4, background: { r: 200, g: 80, b: 40, alpha: 0.8 } } });
  return {
    jpeg: await pixels.clone().flatten().jpeg().toBuffer(),
    png: await pixels.clone().png().toBuffer(),
    webp: await pixels.clone().webp().toBuffer(),
    gif: await pixels.clone().gif().toBuffer(),
    tiff: await pixels.clone().tiff().toBuffer(),
    svg: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="160" height="120"><rect width="160" height="120" fill="red"/></svg>'),
  };
}

function mutateCsv(text: string, mutations: readonly Mutation[], encoding: string): Buffer {
  let bytes = Buffer.from(text, 'utf8');
  const header = text.indexOf('\n') + 1;
  const at = (p: Position) => (p.data ? Math.min(bytes.length, header + Math.floor(p.at * (bytes.length - header + 1))) : Math.floor(p.at * bytes.length));
  const insert = (p: Position, more: Buffer) => {
    const i = at(p);
    bytes = Buffer.concat([bytes.subarray(0, i), more, bytes.subarray(i)]);
  };
  for (const m of mutations) {
    if (m.op === 'bytes') insert(m.at, Buffer.from(m.bytes));
    else if (m.op === 'quote') insert(m.at, Buffer.from('"'));
    else if (m.op === 'nul') insert(m.at, Buffer.from([0]));
    else if (m.op === 'huge') insert(m.at, Buffer.alloc(m.size, 'x'));
    else if (m.op === 'invalid-utf8') insert(m.at, Buffer.from(m.bytes));
    else if (m.op === 'truncate') bytes = bytes.subarray(0, Math.max(1, at(m.at)));
    else insert(m.at, Buffer.from(m.text));
  }
  if (encoding === 'utf8-bom') return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]);
  if (encoding.startsWith('utf16le')) {
    const utf16 = Buffer.from(bytes.toString('utf8'), 'utf16le');
    return encoding.endsWith('bom') ? Buffer.concat([Buffer.from([0xff, 0xfe]), utf16]) : utf16;
  }
  return bytes;
}

function mutateImage(source: Buffer, mutations: readonly ImageMutation[]): Buffer {
  let bytes = Buffer.from(source);
  for (const m of mutations) {
    if (m.op === 'flip') for (const b of m.bits) {
      const bit = Math.floor(b * bytes.length * 8);
      if (bytes.length > 0) bytes[bit >> 3]! ^= 1 << (bit & 7);
    }
    else if (m.op === 'truncate') bytes = bytes.subarray(0, Math.floor(m.at * bytes.length));
    else if (m.op === 'magic') {
      const magic = Buffer.from(m.magic, 'latin1');
      bytes = Buffer.concat([magic, bytes.subarray(Math.min(magic.length, bytes.length))]);
    } else bytes = Buffer.concat([bytes, Buffer.from(m.bytes)]);
  }
  return bytes;
}

/** main() as the CLI runs it, with its output captured instead of printed. */
async function runMain(args: string[], timeoutMs: number): Promise<{ code: number | 'hang' | 'crash'; output: string }> {
  let output = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const capture = (chunk: unknown): boolean => {
    if (output.length < 20_000) output += String(chunk);
    return true;
  };
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  let timer: NodeJS.Timeout | undefined;
  try {
    const code = await Promise.race([
      main(args),
      new Promise<'hang'>((resolve) => (timer = setTimeout(() => resolve('hang'), timeoutMs))),
    ]);
    return { code, output };
  } catch (error) {
    return { code: 'crash', output: output + String((error as Error).stack ?? error) };
  } finally {
    clearTimeout(timer);
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

/** Row numbers in the ledger: each of 1..n exactly once. */
async function accounted(ledger: string): Promise<string | undefined> {
  const text = await readFile(ledger, 'utf8').catch(() => '');
  const rows: number[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const parsed = JSON.parse(line) as { type?: string; row?: number };
    if (parsed.type === 'row') rows.push(parsed.row!);
  }
  const seen = new Set(rows);
  if (seen.size !== rows.length) return `a row recorded twice (${rows.length} lines, ${seen.size} rows)`;
  for (let r = 1; r <= rows.length; r++) if (!seen.has(r)) return `row ${r} missing among ${rows.length}`;
  return undefined;
}

export async function fuzz(options: FuzzOptions): Promise<FuzzTally> {
  const tally: FuzzTally = { cases: 0, csvCases: 0, imageCases: 0, byExit: {}, crashes: 0, hangs: 0, badExits: 0, accountingErrors: 0, failures: [] };
  const root = await mkdtemp(join(tmpdir(), 'avatar-import-fuzz-'));
  const images = join(root, 'images');
  await mkdir(join(images, 'photos'), { recursive: true });
  const bases = await baseImages();
  for (let i = 0; i < 8; i++) await writeFile(join(images, 'photos', `p${i}.jpg`), bases.jpeg);
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);

  const kase = fc.oneof(csvCase.map((c) => ({ kind: 'csv' as const, c })), imageCase.map((c) => ({ kind: 'image' as const, c })));
  let n = 0;
  try {
    await fc.assert(
      fc.asyncProperty(kase, async (k) => {
        const dir = join(root, `case${n++}`);
        await mkdir(dir);
        const csv = join(dir, 'people.csv');
        let csvBytes: Buffer;
        if (k.kind === 'csv') {
          tally.csvCases++;
          const text = ['user_id,name,photo', ...Array.from({ length: k.c.rows }, (_, i) => `u${i},"Person, ${i}",photos/p${i}.jpg`)].join('\n') + '\n';
          csvBytes = mutateCsv(text, k.c.mutations, k.c.encoding);
        } else {
          tally.imageCases++;
          const name = `photos/odd${k.c.extension ? `.${k.c.extension}` : ''}`;
          await mkdir(join(dir, 'photos'));
          await writeFile(join(dir, name), mutateImage(bases[k.c.base]!, k.c.mutations));
          await writeFile(join(dir, 'photos', 'p0.jpg'), bases.jpeg);
          csvBytes = Buffer.from(`user_id,photo\nu0,photos/p0.jpg\nu1,${name}\nu2,${name}\n`);
        }
        await writeFile(csv, csvBytes);
        const ledger = join(dir, 'people.ledger.jsonl');
        const imagesDir = k.kind === 'csv' ? images : dir;
        const result = await runMain([csv, '--target', 'dir', '--out', join(dir, 'out'), '--ledger', ledger, '--images-dir', imagesDir, '--progress', 'off', '--jobs', '2'], options.caseTimeoutMs ?? 60_000);
        tally.cases++;
        tally.byExit[String(result.code)] = (tally.byExit[String(result.code)] ?? 0) + 1;
        if (process.env.FUZZ_DEBUG && result.code === 2) console.error(k.kind, JSON.stringify(result.output.slice(0, 300)));
        const fail = (kind: string, detail: string): void => {
          if (tally.failures.length < 10) tally.failures.push({ kind, detail: detail.slice(0, 2000), csv: csvBytes.subarray(0, 400).toString('latin1') });
        };
        if (result.code === 'hang') {
          tally.hangs++;
          fail('hang', result.output);
        } else if (result.code === 'crash' || result.code === 3 || unhandled.length > 0) {
          tally.crashes++;
          fail('crash', result.output + unhandled.splice(0).map(String).join('\n'));
        } else if (![0, 1, 2].includes(result.code)) {
          tally.badExits++;
          fail(`exit ${result.code}`, result.output);
        } else {
          const wrong = await accounted(ledger);
          if (wrong !== undefined) {
            tally.accountingErrors++;
            fail('accounting', `${wrong}\n${result.output}`);
          }
        }
        if (result.code !== 'hang') await rm(dir, { recursive: true, force: true });
        if (tally.cases % 500 === 0) options.log?.(`${tally.cases} cases…`);
        return true;
      }),
      { numRuns: options.runs, seed: options.seed, endOnFailure: true },
    );
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await rm(root, { recursive: true, force: true });
  }
  return tally;
}
