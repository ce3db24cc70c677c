import { readFile } from 'node:fs/promises';
import type { SheetRow } from '../../src/report/preview/page.js';

/** The rows block of a contact sheet, as its script reads it. */
export async function sheetRows(file: string): Promise<SheetRow[]> {
  const html = await readFile(file, 'utf8');
  const block = /<script type="text\/plain" id="rows">\n([^]*?)<\/script>/.exec(html);
  if (!block) throw new Error(`${file} has no rows block`);
  return block[1]!.split('\n').filter(Boolean).map((line) => JSON.parse(line) as SheetRow);
}
