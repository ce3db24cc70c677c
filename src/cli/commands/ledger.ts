// `avatar-import ledger <command>`: the ledger tools (src/cli/ledger-command.ts parses their
// arguments; src/ledger/tools/ holds them).
import { ledgerCommand } from '../ledger-command.js';
import type { Command } from './command.js';

export const ledger: Command = {
  name: 'ledger',
  usage: 'ledger <status|failed|show|runs|compact|merge|preview>',
  summary: 'read and maintain a ledger (avatar-import ledger --help)',
  run: (args) => ledgerCommand(args),
};
