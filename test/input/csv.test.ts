import { Readable } from 'node:stream';
import { RowError, UsageError } from '../../src/errors.js';
import { openCsv, type CsvProblem, type CsvRecord } from '../../src/input/csv.js';
import { collect, isProblem, textSource } from './helpers.js';

async function read(text: string | Buffer, options: { delimiter?: string; chunkSize?: number } = {}) {
  const input = await openCsv(textSource(text, options.chunkSize), { delimiter: options.delimiter });
  return { input, items: await collect(input) };
}

function records(items: Array<CsvRecord | CsvProblem>): CsvRecord[] {
  return items.filter((item): item is CsvRecord => !isProblem(item));
}

describe('reading records', () => {
  test('each record carries its row number, the line it starts on and its cells by header', async () => {
    const { input, items } = await read('id,image\nana,ana.jpg\nbo,bo.png\n');
    expect(input.headers).toEqual(['id', 'image']);
    expect(input.delimiter).toBe(',');
    expect(items).toEqual([
      { row: 1, line: 2, fields: { id: 'ana', image: 'ana.jpg' } },
      { row: 2, line: 3, fields: { id: 'bo', image: 'bo.png' } },
    ]);
  });

  test('a UTF-8 BOM does not become part of the first header', async () => {
    const { input, items } = await read('\uFEFFid,image\nana,ana.jpg\n');
    expect(input.headers).toEqual(['id', 'image']);
    expect(records(items)[0]!.fields.id).toBe('ana');
  });

  test('CRLF, LF and CR line endings are all line breaks, even mixed in one file', async () => {
    const { items } = await read('id,image\r\nana,a.jpg\r\nbo,b.jpg\ncy,c.jpg\rdi,d.jpg');
    expect(items.map((item) => [item.line, (item as CsvRecord).fields.id])).toEqual([
      [2, 'ana'], [3, 'bo'], [4, 'cy'], [5, 'di'],
    ]);
  });

  test('quoted cells keep delimiters, doubled quotes and line breaks, and later line numbers count those breaks', async () => {
    const text = 'id,image,note\r\n' +
      'ana,ana.jpg,"Lisbon, PT"\r\n' +
      'bo,bo.jpg,"said ""hi""\r\nthen left\r\nfor good"\r\n' +
      'cy,cy.jpg,plain\r\n';
    const { items } = await read(text);
    expect(items).toEqual([
      { row: 1, line: 2, fields: { id: 'ana', image: 'ana.jpg', note: 'Lisbon, PT' } },
      { row: 2, line: 3, fields: { id: 'bo', image: 'bo.jpg', note: 'said "hi"\r\nthen left\r\nfor good' } },
      { row: 3, line: 6, fields: { id: 'cy', image: 'cy.jpg', note: 'plain' } },
    ]);
  });

  test('blank lines and rows of empty cells are skipped: no row number, but lines stay true', async () => {
    const { items } = await read('\n\nid,image,name\n\nana,a.jpg,Ana\n   \n,,\n"","",""\nbo,b.jpg,Bo\n');
    expect(items).toEqual([
      { row: 1, line: 5, fields: { id: 'ana', image: 'a.jpg', name: 'Ana' } },
      { row: 2, line: 9, fields: { id: 'bo', image: 'b.jpg', name: 'Bo' } },
    ]);
  });

  test('spaces between a delimiter and an opening quote are allowed (hand-edited files)', async () => {
    const { items } = await read('id, name, image\njd, "Doe, Jane", jd.jpg\n');
    expect(items).toEqual([{ row: 1, line: 2, fields: { id: 'jd', name: 'Doe, Jane', image: 'jd.jpg' } }]);
  });

  test('cells and headers are trimmed of surrounding spaces; spaces inside are kept', async () => {
    const { input, items } = await read(' id , image ,name\n  ana@corp.com ,  photos/ana jones.jpg  ,"  Ana  Jones "\n');
    expect(input.headers).toEqual(['id', 'image', 'name']);
    expect(records(items)[0]!.fields).toEqual({ id: 'ana@corp.com', image: 'photos/ana jones.jpg', name: 'Ana  Jones' });
  });

  test('a column named like an Object.prototype member is an ordinary column', async () => {
    const { items } = await read('id,__proto__,constructor\nana,x,y\n');
    const fields = records(items)[0]!.fields;
    expect(fields['__proto__']).toBe('x');
    expect(fields['constructor']).toBe('y');
    expect(Object.keys(fields)).toEqual(['id', '__proto__', 'constructor']);
  });

  test('an unnamed column (a trailing delimiter on every line) is read but left out of fields', async () => {
    const { input, items } = await read('id,image,\nana,a.jpg,\n');
    expect(input.headers).toEqual(['id', 'image', '']);
    expect(records(items)[0]!.fields).toEqual({ id: 'ana', image: 'a.jpg' });
  });
});

describe('delimiters', () => {
  test.each([
    ['semicolon', 'id;image;name\nana;a.jpg;Ana, Jones\n', ';', 'Ana, Jones'],
    ['tab', 'id\timage\tname\nana\ta.jpg\tAna; Jones\n', '\t', 'Ana; Jones'],
    ['comma', 'id,image,name\nana,a.jpg,Ana; Jones\n', ',', 'Ana; Jones'],
  ])('%s is detected from the header line', async (_name, text, delimiter, name) => {
    const { input, items } = await read(text);
    expect(input.delimiter).toBe(delimiter);
    expect(records(items)[0]!.fields).toEqual({ id: 'ana', image: 'a.jpg', name });
  });

  test('delimiters inside quoted header names do not count', async () => {
    const { input } = await read('"last, first, middle";id;photo\n"Doe, Jane, A";jd;jd.jpg\n');
    expect(input.delimiter).toBe(';');
    expect(input.headers).toEqual(['last, first, middle', 'id', 'photo']);
  });

  test('a given delimiter wins over detection; "tab" names the tab', async () => {
    const { input, items } = await read('id,name|image\nana,Ana|a.jpg\n', { delimiter: '|' });
    expect(input.headers).toEqual(['id,name', 'image']);
    expect(records(items)[0]!.fields.image).toBe('a.jpg');
    expect((await read('id\timage\nana\ta.jpg\n', { delimiter: 'tab' })).input.delimiter).toBe('\t');
  });

  test('a delimiter that is not one usable character is a usage error', async () => {
    await expect(openCsv(textSource('id,image\n'), { delimiter: ',,' })).rejects.toThrow(UsageError);
    await expect(openCsv(textSource('id,image\n'), { delimiter: '"' })).rejects.toThrow(/--delimiter/);
  });

  test('a UTF-16LE tab file with BOM (Excel "Unicode text") is read', async () => {
    const text = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('id\timage\r\nzoë\tzoë.jpg\r\n', 'utf16le')]);
    const { input, items } = await read(text);
    expect(input.delimiter).toBe('\t');
    expect(items).toEqual([{ row: 1, line: 2, fields: { id: 'zoë', image: 'zoë.jpg' } }]);
  });
});

describe('malformed records fail alone', () => {
  test('a record with the wrong number of fields is a problem naming its line; the records after it still come', async () => {
    const { items } = await read('id,image\nana,a.jpg\nbo\ncy,c.jpg,extra\ndi,d.jpg\n');
    expect(items.map((item) => (isProblem(item) ? ['problem', item.row, item.line] : ['ok', item.row, item.fields.id]))).toEqual([
      ['ok', 1, 'ana'], ['problem', 2, 3], ['problem', 3, 4], ['ok', 4, 'di'],
    ]);
    const problem = items[1] as CsvProblem;
    expect(problem.error).toBeInstanceOf(RowError);
    expect(problem.error.code).toBe('malformed_record');
    expect(problem.error.message).toMatch(/^line 3: expected 2 fields as in the header, found 1/);
  });

  test.each([
    ['text after a closing quote', 'bo,"b.jpg"x'],
    ['a quote inside an unquoted value', 'bo,b"x.jpg'],
    ['a space between closing quote and delimiter', 'bo,"b.jpg" ,'],
  ])('bad quoting (%s) fails that record only, and does not swallow the lines after it', async (_name, bad) => {
    const { items } = await read(`id,image\nana,a.jpg\n${bad}\ncy,"c.jpg"\ndi,d.jpg\n`);
    expect(items.map((item) => (isProblem(item) ? `problem@${item.line}` : item.fields.image))).toEqual([
      'a.jpg', 'problem@3', 'c.jpg', 'd.jpg',
    ]);
    expect((items[1] as CsvProblem).error.message).toMatch(/^line 3: bad quoting in field 2/);
  });

  test('a quote left open at the end of the file is one problem, and reading ends', async () => {
    const { items } = await read('id,image\nana,a.jpg\nbo,"b.jpg\ncy,c.jpg\n');
    expect(items).toHaveLength(2);
    expect(items[0]).toMatchObject({ row: 1, fields: { id: 'ana' } });
    expect(items[1]).toMatchObject({ row: 2, line: 3 });
    expect((items[1] as CsvProblem).error.message).toMatch(/^line 3: a quoted field is never closed/);
  });

  test('an open quote at the very end, without a final line break, is one problem too', async () => {
    const { items } = await read('id,image\nana,a.jpg\nbo,"b.jpg');
    expect(items.map((item) => isProblem(item))).toEqual([false, true]);
  });

  test('a quote that never closes in a large file stops reading past 8 MiB instead of holding the rest', async () => {
    const rows = Array.from({ length: 800_000 }, (_, i) => `user${i},user${i}.jpg\n`).join('');
    const text = `id,image\nana,a.jpg\nbo,"b.jpg\n${rows}`;
    const input = await openCsv(textSource(text));
    const items = await collect(input);
    expect(items.map((item) => isProblem(item))).toEqual([false, true]);
    expect((items[1] as CsvProblem).line).toBe(3);
    expect((items[1] as CsvProblem).error.message).toMatch(/runs on for more than 8388608 bytes/);
    expect(text.length).toBeGreaterThan(16 * 1024 * 1024);
    expect(input.bytesRead()).toBeLessThan(9 * 1024 * 1024);
  });
});

describe('the header', () => {
  test.each([
    ['an empty file', ''],
    ['a BOM only', '\uFEFF'],
    ['blank lines only', '\n\r\n  \n'],
  ])('%s is a usage error', async (_name, text) => {
    await expect(openCsv(textSource(text))).rejects.toThrow(new UsageError('the CSV is empty: expected a header line naming the columns'));
  });

  test('a header that names a column twice (in any case) is a usage error listing it', async () => {
    await expect(openCsv(textSource('id,image,ID\nana,a.jpg,x\n'))).rejects.toThrow(UsageError);
    await expect(openCsv(textSource('id,image,ID\nana,a.jpg,x\n'))).rejects.toThrow(/more than once: "id\/ID"/);
    await expect(openCsv(textSource('id,image,image\n'))).rejects.toThrow(/more than once: "image"/);
  });

  test('a header that cannot be parsed is a usage error', async () => {
    await expect(openCsv(textSource('id,"image\nana,a.jpg\n'))).rejects.toThrow(/header line could not be read/);
  });

  test('a header-only file has no records', async () => {
    const { input, items } = await read('id,image\n');
    expect(input.headers).toEqual(['id', 'image']);
    expect(items).toEqual([]);
  });
});

describe('sources', () => {
  const text = '\uFEFF"display, name";id;photo\r\n"Doe, Jane";jd;"jd\r\n.jpg"\r\nana;ana;a.jpg\r\n';

  test('a source that trickles one byte at a time (stdin) reads exactly like one that delivers it whole', async () => {
    const whole = await read(text);
    const trickled = await read(text, { chunkSize: 1 });
    expect(trickled.input.delimiter).toBe(';');
    expect(trickled.input.headers).toEqual(whole.input.headers);
    expect(trickled.items).toEqual(whole.items);
    expect(trickled.input.bytesRead()).toBe(Buffer.byteLength(text));
  });

  test('a string-mode source (stdin with an encoding set) works too', async () => {
    const source = Readable.from(['id,ima', 'ge\nana,a', '.jpg\n'], { objectMode: true });
    const input = await openCsv(source);
    expect(await collect(input)).toEqual([{ row: 1, line: 2, fields: { id: 'ana', image: 'a.jpg' } }]);
  });

  test('an error from the source reaches whoever iterates the records', async () => {
    const source = new Readable({ read() {} });
    // The second record's start tells the parser the first one is complete.
    source.push('id,image\nana,a.jpg\nbo,b.jpg\n');
    const input = await openCsv(source);
    const iterator = input.records[Symbol.asyncIterator]();
    await expect(iterator.next()).resolves.toMatchObject({ value: { row: 1 } });
    source.destroy(new Error('EIO: disk went away'));
    await expect(iterator.next()).rejects.toThrow('EIO: disk went away');
  });

  test('leaving the loop early closes the source, even one that is waiting for more input', async () => {
    const source = new Readable({ read() {} });
    source.push('id,image\nana,a.jpg\nbo,b.jpg\n');
    const closed = new Promise((resolve) => source.once('close', resolve));
    const input = await openCsv(source);
    for await (const item of input.records) {
      expect(item.row).toBe(1);
      break;
    }
    await closed;
    expect(source.destroyed).toBe(true);
  });
});
