import fc from 'fast-check';

import { emptyFacts, INVALID, OBJECT, walkLine } from '../../../src/ledger/tools/line-facts.js';
import { okRow } from '../support.js';

// The walk compaction reads lines with, held to its contract: on a line without backslashes or
// control characters, OBJECT only when JSON.parse gives an object with the same fields, INVALID
// only when JSON.parse throws.

const FIELDS = ['type', 'run', 'target', 'user', 'status', 'reason'] as const;

/** The walk over `line` as compaction runs it: on a latin1 view of its UTF-8 bytes. */
function walk(line: string): { result: number; facts: ReturnType<typeof emptyFacts> } {
  const text = Buffer.from(line, 'utf8').toString('latin1');
  const facts = emptyFacts();
  return { result: walkLine(text, 0, text.length, facts), facts };
}

function expectAsParsed(line: string): void {
  const { result, facts } = walk(line);
  let parsed: unknown;
  let threw = false;
  try {
    parsed = JSON.parse(line);
  } catch {
    threw = true;
  }
  if (result === INVALID) expect(threw).toBe(true);
  if (result !== OBJECT) return;
  expect(threw).toBe(false);
  expect(typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)).toBe(true);
  const value = parsed as Record<string, unknown>;
  for (const field of FIELDS) {
    const got = facts[field];
    expect(got === undefined ? undefined : Buffer.from(got, 'latin1').toString('utf8')).toBe(value[field]);
  }
  expect(facts.remote).toBe(typeof value.remote === 'string');
  expect(facts.outputSha256).toBe(typeof value.outputSha256 === 'string');
  expect(facts.bytes).toBe(typeof value.bytes === 'number');
}

const judged = (line: string): boolean => !/[\\\x00-\x1f]/.test(line);

describe('walkLine', () => {
  test('a row line as the pipeline writes it: its fields', () => {
    const line = JSON.stringify({ ...okRow('zoë', 3, { reason: 'recovered' }), error: { code: 'x', message: 'a [b] {c}' } });
    const { result, facts } = walk(line);
    expect(result).toBe(OBJECT);
    expect([facts.type, facts.run, facts.status, facts.reason, facts.remote, facts.bytes]).toEqual(['row', 'run-1', 'ok', 'recovered', true, true]);
    expectAsParsed(line);
  });

  test.each([
    '{"type":"row","row":01}', '{"type":"row","n":1.}', '{"type":"row","n":-}', '{"a":tru}', '{"a":nul}', '{"a":[1,]}', '{"a":{"b":1,}}',
    '{"a":1,}', '{"a" 1}', '{"a":1}}', '{"a":1} x', '{"type":"row"', '{"a":"x}', '{"a":[1 2]}', '{"a":1e}', '{"a":+1}',
  ])('%s is not JSON, and the walk says so', (line) => {
    expect(walk(line).result).toBe(INVALID);
    expect(() => JSON.parse(line)).toThrow();
  });

  test('duplicate keys: the last one counts, as in JSON.parse', () => {
    expectAsParsed('{"type":"run","type":"row","status":"ok","remote":"a","remote":null,"bytes":"1","bytes":2}');
  });

  test('property: on JSON objects, whole or cut or with a character changed, it agrees with JSON.parse', () => {
    const value = fc.oneof(
      fc.constantFrom('row', 'intent', 'run', 'ok', 'skipped', '', 'zoë', '日本'),
      fc.string({ maxLength: 6 }),
      fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null),
      fc.jsonValue({ maxDepth: 2 }),
    );
    const key = fc.constantFrom(...FIELDS, 'remote', 'outputSha256', 'bytes', 'error', 'x', 'typ', 'users');
    const object = fc.array(fc.tuple(key, value), { maxLength: 8 }).map((pairs) => `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
    const mutated = fc.tuple(object, fc.nat(), fc.constantFrom('cut', 'change', 'insert', 'space', 'none'), fc.constantFrom('"', ',', ':', '{', '}', '[', ']', '0', '-', '.', 'e', ' ', 'a', 'é')).map(([line, at, how, c]) => {
      const p = line.length === 0 ? 0 : at % line.length;
      if (how === 'cut') return line.slice(0, p);
      if (how === 'change') return line.slice(0, p) + c + line.slice(p + 1);
      if (how === 'insert') return line.slice(0, p) + c + line.slice(p);
      if (how === 'space') return line.replace(/([:,])/g, ' $1 ');
      return line;
    });
    fc.assert(fc.property(mutated.filter(judged), expectAsParsed), { numRuns: 3000 });
  });
});
