/** What is left of `parts` (written in order, as one) once their first `written` bytes are written. */
export function unwritten(parts: readonly Buffer[], written: number): Buffer[] {
  let skip = written;
  let first = 0;
  while (first < parts.length && skip >= parts[first]!.length) skip -= parts[first++]!.length;
  const rest = parts.slice(first);
  if (skip > 0) rest[0] = rest[0]!.subarray(skip);
  return rest;
}
