import { FatalError, UsageError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { createLogger } from '../log.js';
import type { Session } from './commands/command.js';
import { importCommand } from './commands/import.js';
import { findCommand } from './commands/index.js';

export { EXIT };

/** Picks the command (`avatar-import ledger …`, or the import by default) and maps errors to exit
 * codes: usage 2, fatal 3; secrets are masked in every message printed here. */
export async function main(args: readonly string[]): Promise<number> {
  const session: Session = { log: createLogger() };
  try {
    const command = findCommand(args[0]);
    return command ? await command.run(args.slice(1), session) : await importCommand(args, session);
  } catch (error) {
    const { log } = session;
    if (error instanceof UsageError) {
      process.stderr.write(`avatar-import: ${log.redact(error.message)}\nRun avatar-import --help for every option.\n`);
      return EXIT.usage;
    }
    if (error instanceof FatalError) {
      process.stderr.write(`avatar-import: aborted: ${log.redact(error.message)}\n`);
      return EXIT.fatal;
    }
    process.stderr.write(`avatar-import: unexpected error: ${log.redact(error instanceof Error ? (error.stack ?? error.message) : String(error))}\n`);
    return EXIT.fatal;
  }
}
