import { scanRowKey, type RowKey } from '../../src/ledger/scan-line.js';
import { failedRow, okRow, runLine } from './support.js';
import { mulberry32 } from '../../testkit/servers/harness.js';

// The index reads `type`, `target`, `user` and whether `remote` is a string without JSON.parse.
// Whenever the scanner answers, its answer must be JSON.parse's; when unsure it says so.

function scan(text: string): RowKey | undefined {
  const key: RowKey = { type: undefined, target: undefined, user: undefined, remote: false };
  return scanRowKey(text, key) ? key : undefined;
}

function truth(text: string): RowKey {
  const value = JSON.parse(text) as Record<string, unknown>;
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  return { type: str(value.type), target: str(value.target), user: str(value.user), remote: typeof value.remote === 'string' };
}

/** Valid JSON that JSON.stringify never writes: escapes anywhere, spacing, duplicate keys, decoys. */
function randomLine(random: () => number): string {
  const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const space = (): string => pick(['', '', '', ' ', '\t', ' \r ']);
  const chars = ['a', 'b', 'é', '😀', '"', '\\', '/', '\n', '\u2028', ':', ',', '{', '}', '[', ']', ' ', 'user', 'remote'];
  const text = (): string => Array.from({ length: Math.floor(random() * 6) }, () => pick(chars)).join('');
  const quote = (s: string): string => {
    // Sometimes escape a plain letter too ("t\u0079pe" is the key "type").
    let out = '';
    for (const ch of JSON.stringify(s).slice(1, -1)) out += /[a-z]/.test(ch) && random() < 0.1 ? `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}` : ch;
    return `"${out}"`;
  };
  const keys = ['type', 'target', 'user', 'remote', 'settings', 'error', 'row', text()];
  const value = (depth: number): string => {
    const kind = pick(['string', 'string', 'number', 'literal', 'object', 'array']);
    if (kind === 'string') return quote(pick(['row', 'run', 'dir:/x', '', text()]));
    if (kind === 'number') return pick(['0', '-1', '3.25', '1e21', '1700000000000']);
    if (kind === 'literal') return pick(['true', 'false', 'null']);
    if (depth > 2) return '{}';
    if (kind === 'array') return `[${space()}${Array.from({ length: Math.floor(random() * 3) }, () => value(depth + 1)).join(`${space()},${space()}`)}${space()}]`;
    return object(depth + 1);
  };
  const object = (depth: number): string => {
    const pairs = Array.from({ length: Math.floor(random() * 7) }, () => `${quote(pick(keys))}${space()}:${space()}${value(depth)}`);
    return `{${space()}${pairs.join(`${space()},${space()}`)}${space()}}`;
  };
  return `${space()}${object(0)}${space()}`;
}

describe('scanRowKey', () => {
  test('reads the lines the ledger writes, and agrees with JSON.parse on them', () => {
    const lines = [
      okRow('ana', 1),
      failedRow('bo', 2),
      okRow('quote " and backslash \\ and newline \n', 3),
      okRow('ünïcødé 😀 \u2028', 4, { target: 'matrix:https://hs.example', source: 'C:\\photos\\a.jpg' }),
      failedRow('cy', 5, { error: { code: 'target_error', message: 'server said {"user":"x","remote":"y"}' } }),
    ].map((line) => JSON.stringify(line));
    for (const line of lines) expect(scan(line)).toEqual(truth(line));
  });

  test('a run line is not a row', () => {
    expect(scan(JSON.stringify(runLine()))?.type).toBe('run');
  });

  test('keys inside nested objects and inside strings do not count', () => {
    const line = '{"type":"row","settings":{"user":"decoy","remote":"decoy"},"note":"\\"user\\":\\"decoy\\"","target":"t","user":"ana"}';
    expect(scan(line)).toEqual({ type: 'row', target: 't', user: 'ana', remote: false });
  });

  test('with duplicate keys the last one wins, as in JSON.parse', () => {
    expect(scan('{"type":"row","user":"a","user":"b","remote":"r","remote":null,"target":"t"}')).toEqual(
      { type: 'row', target: 't', user: 'b', remote: false },
    );
  });

  test('remote counts only when it is a string', () => {
    for (const value of ['null', '0', 'true', '{}', '[]']) expect(scan(`{"type":"row","remote":${value}}`)?.remote).toBe(false);
    expect(scan('{"type":"row","remote":""}')?.remote).toBe(true);
  });

  test('an escaped key that spells a field is left to JSON.parse', () => {
    expect(scan('{"t\\u0079pe":"row","target":"t","user":"ana"}')).toBeUndefined();
  });

  test('no prefix of a line is ever taken for a line: a torn line is never read as a row', () => {
    const line = JSON.stringify(failedRow('quote " ana', 7, { error: { code: 'x', message: 'a } b' } }));
    for (let cut = 0; cut < line.length; cut++) expect(scan(line.slice(0, cut))).toBeUndefined();
  });

  test('whatever it answers for valid JSON is what JSON.parse says (2 000 generated lines)', () => {
    const random = mulberry32(42);
    let answered = 0;
    for (let i = 0; i < 2000; i++) {
      const line = randomLine(random);
      const key = scan(line);
      if (key === undefined) continue;
      answered++;
      expect({ line, key }).toEqual({ line, key: truth(line) });
    }
    // Enough answers for the comparison to mean something (escaped keys are left to JSON.parse,
    // and the generator escapes often).
    expect(answered).toBeGreaterThan(400);
  });

  test('not JSON objects are refused', () => {
    for (const line of ['', ' ', 'garbage', '[1]', '"row"', '{', '{"type":"row"', '{"type":"row",}', '{"type":}', '{"type":"row"} x', '\u0000\u0000'])
      expect(scan(line)).toBeUndefined();
  });
});
