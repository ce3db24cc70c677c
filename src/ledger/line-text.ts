import type { RowLine } from './lines.js';

// A nightly run writes, for every unchanged row, a line that repeats the row's previous line but
// for when and in which run (and the CSV row and line it came from). Serialising 100 000 such
// lines was a tenth of the run's time; the previous line's text is at hand (it was just read
// back), so the new line's text is that one with the first five fields replaced, when nothing
// else differs. The first night after an import repeats an `ok` line as `skipped` (the pipeline
// builds the skip line in the `ok` line's field order for this): that one field is replaced too.

/** The first fields of every row line, in the order the pipeline builds them (then `user`). */
const HEAD = ['type', 'ts', 'run', 'row', 'line', 'user'] as const;

/**
 * JSON.stringify(line), taken from `previousText` (the text `previous` was parsed from) when
 * `line` has the same fields as `previous`, in the same order, with the same values from `user`
 * on (numbers, strings, booleans or null: no nested objects) but for a `status` that goes from
 * `ok` to `skipped`; undefined otherwise.
 */
export function repeatedLineText(line: RowLine, previous: RowLine, previousText: string): string | undefined {
  const keys = Object.keys(line);
  const before = Object.keys(previous);
  if (keys.length !== before.length || keys.length <= HEAD.length) return undefined;
  for (let i = 0; i < HEAD.length; i++) if (keys[i] !== HEAD[i] || before[i] !== HEAD[i]) return undefined;
  const now = line as unknown as Record<string, unknown>;
  const then = previous as unknown as Record<string, unknown>;
  let skippedNow = false;
  for (let i = HEAD.length - 1; i < keys.length; i++) {
    const key = keys[i]!;
    if (before[i] !== key) return undefined;
    const value = now[key];
    if (value !== then[key]) {
      if (key !== 'status' || value !== 'skipped' || then[key] !== 'ok') return undefined;
      skippedNow = true;
    } else if ((typeof value === 'object' && value !== null) || (typeof value === 'number' && !Number.isFinite(value))) return undefined;
  }
  const { type, ts, run, row, line: at } = line;
  if (type !== 'row' || typeof ts !== 'string' || typeof run !== 'string' || !Number.isFinite(row) || !Number.isFinite(at)) return undefined;
  // A bare `,"user":` can only be the key: a quote inside a string is always escaped, and the
  // fields before it hold no object.
  const user = previousText.indexOf(',"user":');
  if (user < 0) return undefined;
  let rest = previousText.slice(user);
  if (skippedNow) {
    // Likewise `,"status":` can only be that key, and its value was "ok".
    const status = rest.indexOf(',"status":"ok"');
    if (status < 0) return undefined;
    rest = `${rest.slice(0, status)},"status":"skipped"${rest.slice(status + 14)}`;
  }
  return `{"type":"row","ts":${JSON.stringify(ts)},"run":${JSON.stringify(run)},"row":${JSON.stringify(row)},"line":${JSON.stringify(at)}${rest}`;
}
