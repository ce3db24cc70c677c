// Every command besides the import (the default), one file each in this folder. A new command
// (`ledger`, `rollback` …) is a file exporting a Command and one line in this list.
import type { Command } from './command.js';
import { ledger } from './ledger.js';
import { rollbackCommand } from './rollback.js';

export const commands: readonly Command[] = [ledger, rollbackCommand];

export function findCommand(name: string | undefined): Command | undefined {
  return commands.find((command) => command.name === name);
}
