// `avatar-import ledger <command>`: the ledger tools (src/cli/ledger-command.ts parses their
// arguments; src/ledger/tools/ holds them).
import type { Command } from './command.js';

export const ledger: Command = {
  name: 'ledger',
  usage: 'ledger <status|failed|show|runs|compact|merge|preview>',
  summary: 'read and maintain a ledger (avatar-import ledger --help)',
  // Loaded when used: the ledger tools (and the contact sheet) cost an import nothing.
  run: async (args) => (await import('../ledger-command.js')).ledgerCommand(args),
};
