import { ReadAhead, type AheadFile } from '../../src/pipeline/look-ahead.js';

async function* numbers(count: number, pulled: number[], failAt?: number): AsyncGenerator<number> {
  for (let i = 1; i <= count; i++) {
    if (i === failAt) throw new Error(`cannot read row ${i}`);
    pulled.push(i);
    yield i;
  }
}

async function drain(reader: ReadAhead<number>, each: (row: number) => void = () => undefined): Promise<number[]> {
  const rows: number[] = [];
  for (let row = await reader.next(); row !== undefined; row = await reader.next()) {
    rows.push(row);
    each(row);
  }
  return rows;
}

describe('ReadAhead', () => {
  test('gives every row out once, in order, and asks for their files as it reads them, after the first 64', async () => {
    const asked: string[] = [];
    const ahead = { ask: (files: readonly AheadFile[]) => void asked.push(...files.map((file) => file.path)) };
    const reader = new ReadAhead(numbers(500, []), (row, into) => into.push({ path: `/p/${row}`, follow: true }), ahead as never, () => 1000);
    expect(await drain(reader)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect(asked).toEqual(Array.from({ length: 500 - 64 }, (_, i) => `/p/${i + 65}`));
  });

  test('a short input asks for nothing: it is over before another thread would pay for its start', async () => {
    let asks = 0;
    const ahead = { ask: () => void asks++ };
    const reader = new ReadAhead(numbers(60, []), (row, into) => into.push({ path: `/p/${row}`, follow: true }), ahead as never, () => 1000);
    expect(await drain(reader)).toHaveLength(60);
    expect(asks).toBe(0);
  });

  test('reads ahead only as far as the window has room, and one row when it has none', async () => {
    const pulled: number[] = [];
    let room = 5;
    const reader = new ReadAhead(numbers(40, pulled), () => undefined, undefined, () => room);
    const aheadWhenGiven: number[] = [];
    await drain(reader, (row) => {
      aheadWhenGiven.push(pulled.length - row);
      if (row === 20) room = 0;
    });
    expect(Math.max(...aheadWhenGiven.slice(0, 20))).toBeLessThanOrEqual(5);
    expect(Math.max(...aheadWhenGiven.slice(25))).toBe(0);
  });

  test('a failing input gives out every row read before the failure, then throws it', async () => {
    const reader = new ReadAhead(numbers(100, [], 50), () => undefined, undefined, () => 64);
    const rows: number[] = [];
    await expect(drain(reader, (row) => rows.push(row))).rejects.toThrow('cannot read row 50');
    expect(rows).toEqual(Array.from({ length: 49 }, (_, i) => i + 1));
  });

  test('close stops reading the input', async () => {
    const pulled: number[] = [];
    const reader = new ReadAhead(numbers(1000, pulled), () => undefined, undefined, () => 64);
    await reader.next();
    await reader.close();
    const read = pulled.length;
    await drain(reader);
    expect(read).toBeLessThan(1000);
    expect(pulled).toHaveLength(read);
  });
});
