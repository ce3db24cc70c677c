import { createInterface } from 'node:readline';

import { UsageError } from '../../../src/errors.js';
import { Ledger } from '../../../src/ledger/ledger.js';

// Prints `started`, and on the first line from stdin opens the ledger named on the command line
// (so that a test can start several and let them race), then prints `locked`, or
// `refused <message>` when Ledger.open throws a UsageError. Holds the ledger until stdin closes.

const input = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
process.stdout.write('started\n');
await input.next();
try {
  const ledger = await Ledger.open(process.argv[2]!, {});
  process.stdout.write('locked\n');
  while (!(await input.next()).done);
  await ledger.close();
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  process.stdout.write(`refused ${error.message}\n`);
}
process.exit(0);
