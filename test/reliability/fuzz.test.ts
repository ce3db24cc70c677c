import { fuzz } from '../../scripts/lib/fuzz.js';

// The fuzz run of scripts/fuzz.ts at CI size: mutated CSVs (random bytes, stray quotes, NULs, huge
// fields, invalid UTF-8, UTF-16) and mutated images (bit flips, truncation, wrong extensions,
// foreign magic numbers) through the whole tool.

test('no mutated CSV or image crashes or hangs the tool; it exits 0, 1 or 2 and records every data row exactly once', async () => {
  const tally = await fuzz({ runs: 100, seed: 5, caseTimeoutMs: 30_000 });

  expect(tally.failures).toEqual([]);
  expect({ crashes: tally.crashes, hangs: tally.hangs, badExits: tally.badExits, accountingErrors: tally.accountingErrors }).toEqual({ crashes: 0, hangs: 0, badExits: 0, accountingErrors: 0 });
  expect(tally.cases).toBe(100);
  // Both halves ran, and the cases reached each way out: done, failed rows, refused input.
  expect(tally.csvCases).toBeGreaterThan(20);
  expect(tally.imageCases).toBeGreaterThan(20);
  expect(Object.keys(tally.byExit).sort()).toEqual(['0', '1', '2']);
}, 180_000);
