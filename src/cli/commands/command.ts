import type { Logger } from '../../log.js';

/**
 * One `avatar-import <name> …` command. The import is the default (no name); others are chosen by
 * their first word. A command parses its own arguments and returns the exit code; UsageError and
 * FatalError thrown from it become exit 2 and 3 in main.ts, with secrets masked by `session.log`.
 */
export interface Command {
  /** The first word that selects it (`ledger`, `rollback`). */
  readonly name: string;
  /** yargs usage for the top-level help (`ledger <status|failed|show|runs|compact|merge>`). */
  readonly usage: string;
  readonly summary: string;
  run(args: readonly string[], session: Session): Promise<number>;
}

export interface Session {
  /** The logger whose secrets are masked in every message, including the fatal ones main prints.
   * A command replaces it once it knows --quiet/--verbose. */
  log: Logger;
}
