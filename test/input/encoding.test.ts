import fc from 'fast-check';
import iconv from 'iconv-lite';
import { Readable } from 'node:stream';
import { UsageError } from '../../src/errors.js';
import { openCsv, type CsvOptions, type CsvProblem, type CsvRecord } from '../../src/input/csv.js';
import { announce, Utf8Check } from '../../src/input/encoding.js';
import { collect, isProblem, textSource } from './helpers.js';

// A file is read twice when its encoding must be guessed (rescan); stdin is not (no rescan).
function asFile(bytes: Buffer, options: CsvOptions = {}, chunkSize?: number) {
  return openCsv(textSource(bytes, chunkSize), { ...options, rescan: () => textSource(bytes) });
}

const cp1252 = (text: string): Buffer => iconv.encode(text, 'windows-1252');
const fields = (items: Array<CsvRecord | CsvProblem>) => items.map((item) => (isProblem(item) ? item.error.code : item.fields));

describe('byte-order marks decide', () => {
  test.each([
    ['UTF-8', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('id,image\nsøren,s.jpg\n')])],
    ['UTF-16LE', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('id\timage\r\nsøren\ts.jpg\r\n', 'utf16le')])],
    ['UTF-16BE', Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from('id\timage\r\nsøren\ts.jpg\r\n', 'utf16le').swap16()])],
  ])('%s, even one byte at a time', async (_name, bytes) => {
    for (const chunkSize of [1, 3, 65536]) {
      const input = await asFile(bytes, {}, chunkSize);
      expect(input.encoding.why).toBe('bom');
      expect(input.headers).toEqual(['id', 'image']);
      expect(fields(await collect(input))).toEqual([{ id: 'søren', image: 's.jpg' }]);
    }
  });
});

describe('without a BOM', () => {
  test('valid UTF-8 is UTF-8 and nothing is announced', async () => {
    const input = await asFile(Buffer.from('id;image\nanna.müller;a.jpg\n'));
    expect(input.encoding).toEqual({ name: 'utf-8', why: 'utf-8' });
    expect(announce(input.encoding)).toBeUndefined();
    expect(fields(await collect(input))).toEqual([{ id: 'anna.müller', image: 'a.jpg' }]);
  });

  test('bytes that are not UTF-8 and hold no UTF-8 sequence are Windows-1252, and that is announced', async () => {
    const input = await asFile(cp1252('id;image\r\nanna.müller;a.jpg\r\nsøren.ørsted;s.jpg\r\n€uro;e.jpg\r\n'));
    expect(input.encoding).toEqual({ name: 'windows-1252', why: 'fallback' });
    expect(announce(input.encoding)).toBe('encoding: windows-1252 (not valid UTF-8; --encoding to choose)');
    expect(fields(await collect(input))).toEqual([
      { id: 'anna.müller', image: 'a.jpg' }, { id: 'søren.ørsted', image: 's.jpg' }, { id: '€uro', image: 'e.jpg' },
    ]);
  });

  test('a file is checked to its end: a Windows-1252 byte on the last line still decides', async () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => `user${i};u${i}.jpg\n`).join('');
    const input = await asFile(cp1252(`id;image\n${rows}zoë;z.jpg\n`), {}, 4096);
    expect(input.encoding.name).toBe('windows-1252');
    const items = await collect(input);
    expect(fields(items).at(-1)).toEqual({ id: 'zoë', image: 'z.jpg' });
  });

  test('UTF-8 with a few damaged bytes stays UTF-8; the rows holding them fail naming the column and line', async () => {
    const bytes = Buffer.concat([
      Buffer.from('id,name,image\nana,Ana Müller,a.jpg\nbo,B'),
      Buffer.from([0xf6]), // a lone Windows-1252 ö in a UTF-8 file
      Buffer.from('rk,b.jpg\ncy,Cy,c.jpg\n'),
    ]);
    const input = await asFile(bytes);
    expect(input.encoding.name).toBe('utf-8');
    const items = await collect(input);
    expect(fields(items)).toEqual([{ id: 'ana', name: 'Ana Müller', image: 'a.jpg' }, 'invalid_encoding', { id: 'cy', name: 'Cy', image: 'c.jpg' }]);
    const problem = items[1] as CsvProblem;
    expect(problem.line).toBe(3);
    expect(problem.error.message).toBe('line 3: the "name" cell is not valid utf-8 (it reads "B?rk"); fix the bytes or choose the encoding with --encoding');
    expect(problem.error.message).not.toContain('\uFFFD');
  });

  test('read once (stdin), the first non-ASCII byte decides, and a late decision is heard', async () => {
    const heard: string[] = [];
    const rows = Array.from({ length: 20_000 }, (_, i) => `user${i};u${i}.jpg\n`).join('');
    const late = await openCsv(textSource(cp1252(`id;image\n${rows}søren;s.jpg\n`), 512), { onEncoding: (choice) => heard.push(choice.name) });
    expect(late.encoding.why).toBe('undecided');
    expect(fields(await collect(late)).at(-1)).toEqual({ id: 'søren', image: 's.jpg' });
    expect(heard).toEqual(['windows-1252']);
    expect(late.encoding.name).toBe('windows-1252');

    // A UTF-8 sequence cut in two by the chunking is still recognised.
    const utf8 = await openCsv(textSource('id;image\nsøren;s.jpg\n', 10));
    expect(fields(await collect(utf8))).toEqual([{ id: 'søren', image: 's.jpg' }]);
    expect(utf8.encoding.name).toBe('utf-8');
  });

  test('a header that is not valid in the encoding is a usage error, without U+FFFD in it', async () => {
    const bytes = Buffer.concat([Buffer.from('id,na'), Buffer.from([0xff]), Buffer.from('me,image,é\nana,x,a.jpg,y\n')]);
    const error = await asFile(bytes).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(/^the header line is not valid utf-8: column 2 reads "na\?me"/);
  });
});

describe('--encoding', () => {
  test('forces the encoding, whatever the bytes look like', async () => {
    const input = await asFile(iconv.encode('id,image\nÅsa,a.jpg\n', 'latin1'), { encoding: 'latin1' });
    expect(input.encoding).toEqual({ name: 'latin1', why: 'option' });
    expect(fields(await collect(input))).toEqual([{ id: 'Åsa', image: 'a.jpg' }]);
  });

  test('an unknown name is a usage error naming the option', async () => {
    await expect(asFile(Buffer.from('id,image\n'), { encoding: 'klingon' })).rejects.toThrow(/^--encoding expects an encoding name .*got "klingon"/);
  });
});

describe('Utf8Check', () => {
  test.each([
    ['ASCII', [0x41, 0x42], false, false],
    ['a two-byte letter', [0xc3, 0xa9], false, true],
    ['a four-byte emoji', [0xf0, 0x9f, 0x98, 0x80], false, true],
    ['an overlong form', [0xc0, 0xaf], true, false],
    ['an encoded surrogate', [0xed, 0xa0, 0x80], true, false],
    ['a cut-off sequence at the end', [0x41, 0xe2, 0x82], true, false],
    ['a lone Windows-1252 byte', [0x4d, 0xfc, 0x6c], true, false],
  ])('%s', (_name, bytes, invalid, multibyte) => {
    const check = new Utf8Check();
    for (const byte of bytes) check.feed(Buffer.from([byte]));
    check.end();
    expect({ invalid: check.invalid, multibyte: check.multibyte }).toEqual({ invalid, multibyte });
  });

  test('a sequence cut by an ASCII chunk is invalid, whatever follows the chunk', () => {
    const check = new Utf8Check();
    check.feed(Buffer.from([0xe2, 0x82]));
    check.feed(Buffer.from('ab'));
    check.feed(Buffer.from([0x80]));
    check.end();
    expect({ invalid: check.invalid, multibyte: check.multibyte }).toEqual({ invalid: true, multibyte: false });
  });

  test('the verdict does not depend on how the bytes are cut into chunks (fuzzed)', () => {
    const bytes = fc.array(fc.oneof(fc.integer({ min: 0x20, max: 0x7f }), fc.integer({ min: 0x80, max: 0xff })), { maxLength: 40 });
    fc.assert(
      fc.property(bytes, fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 4 }), (values, sizes) => {
        const whole = new Utf8Check();
        whole.feed(Buffer.from(values));
        whole.end();
        const cut = new Utf8Check();
        for (let at = 0, i = 0; at < values.length; i++) {
          const size = sizes[i % sizes.length]!;
          cut.feed(Buffer.from(values.slice(at, at + size)));
          at += size;
        }
        cut.end();
        expect({ invalid: cut.invalid, multibyte: cut.multibyte }).toEqual({ invalid: whole.invalid, multibyte: whole.multibyte });
      }),
      { numRuns: 2000 },
    );
  });
});

describe('title lines, footers and ragged rows', () => {
  const workday = '"Worker Photos Report"\r\nRun at 2026-11-30\r\n"Employee ID","Work Email","Photo File Name"\r\n1001,ana@corp.example,a.jpg\r\nTotal: 1 employees\r\n';

  test('--skip-lines drops the title lines, and line numbers stay those of the file', async () => {
    const input = await asFile(Buffer.from(workday), { skipLines: 2, skipRowsMatching: /^Total:/ });
    expect(input.headers).toEqual(['Employee ID', 'Work Email', 'Photo File Name']);
    const items = await collect(input);
    expect(items).toEqual([{ row: 1, line: 4, fields: { 'Employee ID': '1001', 'Work Email': 'ana@corp.example', 'Photo File Name': 'a.jpg' } }]);
  });

  test('--skip-lines counts CRLF split across chunks as one line break', async () => {
    const input = await asFile(Buffer.from(workday), { skipLines: 2 }, 1);
    expect(input.headers).toEqual(['Employee ID', 'Work Email', 'Photo File Name']);
  });

  test('without --skip-rows-matching a footer is a failed row, not a silent user', async () => {
    const input = await asFile(Buffer.from(workday), { skipLines: 2 });
    input.useColumns(['Employee ID', 'Photo File Name']);
    const items = await collect(input);
    expect(items[1]).toMatchObject({ row: 2, line: 5 });
    expect((items[1] as CsvProblem).error.message).toBe('line 5: expected 3 fields as in the header, found 1: no cell for "Work Email", "Photo File Name"');
  });

  test('--skip-rows-matching never drops the header', async () => {
    const input = await asFile(Buffer.from('id,image\nana,a.jpg\n'), { skipRowsMatching: /id/ });
    expect(input.headers).toEqual(['id', 'image']);
    expect(fields(await collect(input))).toEqual([{ id: 'ana', image: 'a.jpg' }]);
  });

  test('short rows are read when the columns in use are present; extra empty cells are ignored', async () => {
    const input = await asFile(Buffer.from('id,image,department,manager\nana,a.jpg\nbo,b.jpg,Sales,,,\ncy\ndi,d.jpg,IT,Eve,stray\n'));
    input.useColumns(['id', 'image']);
    const items = await collect(input);
    expect(fields(items)).toEqual([
      { id: 'ana', image: 'a.jpg' },
      { id: 'bo', image: 'b.jpg', department: 'Sales', manager: '' },
      'malformed_record',
      'malformed_record',
    ]);
    expect((items[2] as CsvProblem).error.message).toMatch(/no cell for "image"/);
    expect((items[3] as CsvProblem).error.message).toMatch(/expected 4 fields as in the header, found 5/);
  });
});

test('a Readable in string mode still works with a guessed encoding', async () => {
  const input = await openCsv(Readable.from(['id,image\n', 'ana,a.jpg\n'], { objectMode: true }));
  expect(fields(await collect(input))).toEqual([{ id: 'ana', image: 'a.jpg' }]);
});
