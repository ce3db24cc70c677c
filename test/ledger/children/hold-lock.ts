import { UsageError } from '../../../src/errors.js';
import { Ledger } from '../../../src/ledger/ledger.js';

// Opens the ledger named on the command line and prints `locked`, or `refused <message>` when
// Ledger.open throws a UsageError. Holds the ledger open until its stdin closes.

const path = process.argv[2]!;
try {
  const ledger = await Ledger.open(path, {});
  process.stdout.write('locked\n');
  process.stdin.on('end', () => void ledger.close().then(() => process.exit(0)));
  process.stdin.resume();
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  process.stdout.write(`refused ${error.message}\n`);
}
