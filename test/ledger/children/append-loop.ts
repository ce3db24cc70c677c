import { Ledger } from '../../../src/ledger/ledger.js';
import { okRow, runLine } from '../support.js';

// A run that never ends: appends row lines 1, 2, 3 … for users u1, u2, u3 … with several appends
// in flight like the pipeline, and prints `ready` once row N is written. The parent kills it.

const [path, ready] = [process.argv[2]!, Number(process.argv[3])];
const IN_FLIGHT = 8;
const LIMIT = 1_000_000; // in case nobody kills it

// An orphan (the test runner died) stops instead of filling the disk.
process.stdin.on('end', () => process.exit(1));
process.stdin.resume();

const ledger = await Ledger.open(path, {});
await ledger.append(runLine('killed-run'));
const pending = new Set<Promise<void>>();
for (let row = 1; row <= LIMIT; row++) {
  const written = ledger.append(okRow(`u${row}`, row, { run: 'killed-run' })).then(() => {
    pending.delete(written);
    if (row === ready) process.stdout.write('ready\n');
  });
  pending.add(written);
  if (pending.size >= IN_FLIGHT) await Promise.race(pending);
}
