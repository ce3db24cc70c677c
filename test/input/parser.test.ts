import { jest } from '@jest/globals';
import { Parser } from 'csv-parse';
import fc from 'fast-check';
import { RecordParser, type Parsed } from '../../src/input/parser.js';
import { CsvParseRecordParser } from './csv-parse-record-parser.js';

/**
 * Feeds `chunks` to a parser the way its stream would (one _transform a chunk, then _flush) and
 * records, after each chunk, what came out and whether it asked to stop: the two parsers must
 * agree on the timing too, as csv.ts stops pulling input when `stopped` says so.
 */
function run(parser: RecordParser | CsvParseRecordParser, chunks: Buffer[]): Array<{ items: Parsed[]; stopped: boolean }> {
  let items: Parsed[] = [];
  // RecordParser pushes a chunk's items in one array; csv-parse one by one.
  parser.push = (item: unknown) => {
    if (Array.isArray(item)) items.push(...(item as Parsed[]));
    else if (item !== null) items.push(item as Parsed);
    return true;
  };
  const steps: Array<{ items: Parsed[]; stopped: boolean }> = [];
  const done = (error?: Error | null): void => {
    if (error) throw error;
  };
  for (const chunk of chunks) {
    parser._transform(chunk, 'buffer' as BufferEncoding, done);
    steps.push({ items, stopped: parser.stopped });
    items = [];
  }
  parser._flush(done);
  steps.push({ items, stopped: parser.stopped });
  return steps;
}

function cut(bytes: Buffer, sizes: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = sizes.length === 0 ? bytes.length : sizes[i % sizes.length]!;
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

function both(bytes: Buffer, delimiter: string, sizes: readonly number[], maxFieldBytes?: number) {
  const chunks = cut(bytes, sizes);
  return {
    quick: run(new RecordParser(delimiter, maxFieldBytes), chunks),
    csvParse: run(new CsvParseRecordParser(delimiter, maxFieldBytes), chunks),
  };
}

/**
 * The two, compared. csv-parse words the one record it gives up on (a quote still open at the
 * end) with its count of lines, which a csv-parse that took over mid-file starts afresh; csv.ts
 * reads only that the quote was not closed (its own message names the line), so the count is
 * left out.
 */
function expectSame(quick: ReturnType<typeof run>, csvParse: ReturnType<typeof run>): void {
  const unnumbered = (steps: ReturnType<typeof run>) =>
    steps.map((step) => ({
      ...step,
      items: step.items.map((item) => {
        if (!('unparsable' in item)) return item;
        expect(item.unparsable).toMatch(/^Quote Not Closed: .* at line \d+$/);
        return { ...item, unparsable: item.unparsable.replace(/ at line \d+$/, '') };
      }),
    }));
  expect(unnumbered(quick)).toEqual(unnumbered(csvParse));
}

/** The quick path's steps alone (so that a spy on csv-parse sees only its calls). */
function quickOnly(bytes: Buffer, delimiter: string, sizes: readonly number[]) {
  return run(new RecordParser(delimiter), cut(bytes, sizes));
}

const delimiters = fc.constantFrom(',', ';', '\t', '|', ' ', '\f', '§');

/** Text a cell may hold unquoted: no quote, delimiter or line break, but blanks, BOMs and any script. */
const plainText = fc.string({ unit: fc.constantFrom('a', 'B', '7', ' ', '\t', '\f', '\v', 'é', 'ß', '日本', '😀', '\uFEFF', '\u00A0'), maxLength: 6 });

function cell(delimiter: string): fc.Arbitrary<string> {
  const inside = fc.string({ unit: fc.constantFrom('x', ' ', delimiter, '""', '\n', '\r\n', '\r', 'é'), maxLength: 6 });
  return fc.oneof(
    { weight: 8, arbitrary: plainText },
    // Quoted, maybe after blanks (ltrim), holding delimiters, doubled quotes and line breaks.
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom('', ' ', '\t'), inside).map(([blank, text]) => `${blank}"${text}"`) },
    // Broken quoting: a quote inside a value, text after the closing quote, a quote never closed.
    { weight: 1, arbitrary: fc.constantFrom('a"b', '"a"b', '"a" ', '"open', '"', '""') },
  );
}

const lineBreaks = fc.constantFrom('\n', '\r\n', '\r');

/** A CSV the way exports (and hand edits) make them: records, blank lines, ragged rows, mixed line endings. */
function csvText(delimiter: string): fc.Arbitrary<string> {
  const record = fc.array(cell(delimiter), { minLength: 1, maxLength: 5 }).map((cells) => cells.join(delimiter));
  const blank = fc.constantFrom('', ' ', '\t', ' \f', delimiter, `${delimiter} ${delimiter}`);
  const line = fc.tuple(fc.oneof({ weight: 6, arbitrary: record }, { weight: 1, arbitrary: blank }), lineBreaks);
  return fc
    .tuple(fc.array(line, { maxLength: 25 }), fc.boolean(), fc.constantFrom('', '\n', '\r\n\r\n', '\r', ' '))
    .map(([lines, lastBreak, tail]) => {
      let text = lines.map(([content, end]) => content + end).join('');
      if (!lastBreak && lines.length > 0) text = text.replace(/(\r\n|\n|\r)$/, '');
      return text + tail;
    });
}

/** Bytes as they may reach the parser: a BOM (UTF-8, or UTF-16LE's under --encoding utf-8) or not, and damaged UTF-8. */
const starts = fc.constantFrom(Buffer.alloc(0), Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from([0xff, 0xfe]), Buffer.from([0xef, 0xbb]));
const damage = fc.constantFrom(Buffer.from([0x80]), Buffer.from([0xc3]), Buffer.from([0xe2, 0x82]), Buffer.from([0xff]), Buffer.from([0xf0, 0x9f, 0x98]));

function csvBytes(delimiter: string): fc.Arbitrary<Buffer> {
  return fc
    .tuple(starts, csvText(delimiter), fc.array(fc.tuple(fc.nat(), damage), { maxLength: 2 }))
    .map(([start, text, damages]) => {
      let bytes = Buffer.from(text);
      for (const [at, bad] of damages) {
        const i = bytes.length === 0 ? 0 : at % bytes.length;
        bytes = Buffer.concat([bytes.subarray(0, i), bad, bytes.subarray(i)]);
      }
      return Buffer.concat([start, bytes]);
    });
}

/** Byte soup: the pieces CSV is made of, in any order. */
function soup(delimiter: string): fc.Arbitrary<Buffer> {
  const piece = fc.oneof(
    fc.constantFrom('a', 'é', '😀', ' ', '\t', '\f', '"', '""', '\n', '\r', '\r\n', '\uFEFF', delimiter, delimiter).map((text) => Buffer.from(text)),
    damage,
    starts,
  );
  return fc.array(piece, { maxLength: 40 }).map((pieces) => Buffer.concat(pieces));
}

/** Chunk sizes, used in turn: one byte at a time (a trickling stdin) up to the whole input at once. */
const chunking = fc.oneof(fc.constant([]), fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 5 }), fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 3 }));
const limits = fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 }) });

describe('RecordParser reads exactly what csv-parse alone reads', () => {
  test('generated CSV: the same records, raw texts, problems and stops, after the same chunks (fuzzed)', () => {
    fc.assert(
      fc.property(
        delimiters.chain((delimiter) => fc.tuple(fc.constant(delimiter), csvBytes(delimiter), chunking, limits)),
        ([delimiter, bytes, sizes, limit]) => {
          const { quick, csvParse } = both(bytes, delimiter, sizes, limit);
          expectSame(quick, csvParse);
        },
      ),
      { numRuns: 4000 },
    );
  });

  test('byte soup of quotes, delimiters, line breaks, BOMs and damaged UTF-8 (fuzzed)', () => {
    fc.assert(
      fc.property(
        delimiters.chain((delimiter) => fc.tuple(fc.constant(delimiter), soup(delimiter), chunking, limits)),
        ([delimiter, bytes, sizes, limit]) => {
          const { quick, csvParse } = both(bytes, delimiter, sizes, limit);
          expectSame(quick, csvParse);
        },
      ),
      { numRuns: 4000 },
    );
  });

  test('long files with quoted records here and there, in 16 KiB chunks as a file is read (fuzzed)', () => {
    const quoted = ['"Doe, Jane"', '"two\nlines"', '"say ""hi"""', ' "spaced"', 'bad"quote', '"open'];
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: 1999 }), fc.constantFrom(...quoted)), { maxLength: 6 }),
        fc.constantFrom('\n', '\r\n'),
        fc.constantFrom(16 * 1024, 1000, 4096 + 1),
        (quotes, lineBreak, chunk) => {
          const lines = Array.from({ length: 2000 }, (_, i) => `user${i},Person ${i},photos/p${i % 10}.jpg`);
          for (const [at, text] of quotes) lines[at] = `user${at},${text},photos/x.jpg`;
          const bytes = Buffer.from(`user_id,name,photo${lineBreak}${lines.join(lineBreak)}${lineBreak}`);
          const { quick, csvParse } = both(bytes, ',', [chunk]);
          expectSame(quick, csvParse);
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe('RecordParser', () => {
  const records = (steps: Array<{ items: Parsed[] }>): Parsed[] => steps.flatMap((step) => step.items);

  afterEach(() => jest.restoreAllMocks());

  test('a file without quotes is read without csv-parse', () => {
    const transform = jest.spyOn(Parser.prototype, '_transform');
    const text = 'id,name\r\nana, Ana B \r\n\r\n  \r\nbo,\r\ncy\n\n';
    const quick = quickOnly(Buffer.from(text), ',', [5]);
    expect(transform).not.toHaveBeenCalled();
    expect(records(quick)).toEqual([
      { record: ['id', 'name'], raw: 'id,name\r' },
      // ltrim: the blanks in front of a cell go, those after it stay (csv.ts trims them).
      { record: ['ana', 'Ana B '], raw: 'ana, Ana B \r' },
      // Blank lines (and a CRLF's LF) are in the next record's raw text, which numbers lines.
      { record: ['bo', ''], raw: '\r  \rbo,\r' },
      { record: ['cy'], raw: 'cy\n' },
    ]);
  });

  test('a quoted record is given to csv-parse, and the lines after it come back to the quick path', () => {
    const transform = jest.spyOn(Parser.prototype, '_transform');
    const lines = Array.from({ length: 2000 }, (_, i) => `user${i},photos/p${i}.jpg`);
    lines[1000] = 'user1000,"photos/p\n1000.jpg"';
    const bytes = Buffer.from(`id,image\n${lines.join('\n')}\n`);
    const quick = quickOnly(bytes, ',', [16 * 1024]);
    const given = transform.mock.calls.reduce((sum, [chunk]) => sum + (chunk as Buffer).length, 0);
    expect(given).toBeGreaterThan(0);
    expect(given).toBeLessThan(200);
    expect(quick).toEqual(both(bytes, ',', [16 * 1024]).csvParse);
    expect(records(quick)[1001]).toEqual({ record: ['user1000', 'photos/p\n1000.jpg'], raw: 'user1000,"photos/p\n1000.jpg"\n' });
  });

  test('a quote-free line longer than the field limit stops reading, as csv-parse does', () => {
    const bytes = Buffer.from(`id,image\nana,a.jpg\n${'x'.repeat(100)}\nbo,b.jpg\n`);
    const { quick, csvParse } = both(bytes, ',', [30], 50);
    expect(quick).toEqual(csvParse);
    expect(quick.some((step) => step.stopped)).toBe(true);
    expect(records(quick)).toContainEqual({ runaway: 50 });
  });

  test('a line longer than any record is given to csv-parse, with the same result', () => {
    const transform = jest.spyOn(Parser.prototype, '_transform');
    const bytes = Buffer.from(`id,image\nana,a.jpg\n${'x'.repeat(300 * 1024)},y\nbo,b.jpg\n`);
    const quick = quickOnly(bytes, ',', [16 * 1024]);
    expect(transform).toHaveBeenCalled();
    expect(quick).toEqual(both(bytes, ',', [16 * 1024]).csvParse);
    expect(records(quick).map((item) => 'record' in item && item.record.map((cell) => cell.length))).toEqual([[2, 5], [3, 5], [300 * 1024, 1], [2, 5]]);
  });

  test('a line of many short cells is not a runaway field, however long', () => {
    const bytes = Buffer.from(`id,image\n${'x,'.repeat(100)}\nbo,b.jpg\n`);
    const { quick, csvParse } = both(bytes, ',', [30], 50);
    expect(quick).toEqual(csvParse);
    expect(quick.some((step) => step.stopped)).toBe(false);
  });

  test('a delimiter outside ASCII is left to csv-parse throughout', () => {
    const transform = jest.spyOn(Parser.prototype, '_transform');
    const bytes = Buffer.from('id§image\nana§a.jpg\n');
    const quick = quickOnly(bytes, '§', [4]);
    expect(transform).toHaveBeenCalled();
    expect(quick).toEqual(both(bytes, '§', [4]).csvParse);
    expect(records(quick).map((item) => 'record' in item && item.record)).toEqual([['id', 'image'], ['ana', 'a.jpg']]);
  });

  test('a UTF-8 BOM is dropped; a cell keeps damaged bytes as csv-parse decodes them', () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('id,name\nana,'), Buffer.from([0xe2, 0x82]), Buffer.from(',x\n')]);
    const { quick, csvParse } = both(bytes, ',', [2]);
    expect(quick).toEqual(csvParse);
    expect(records(quick)).toEqual([{ record: ['id', 'name'], raw: 'id,name\n' }, { record: ['ana', '\uFFFD', 'x'], raw: 'ana,\uFFFD,x\n' }]);
  });
});
