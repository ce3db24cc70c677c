// The output options (see src/options/schema.ts for how options are declared and added).
import { area, boolean, choice } from '../options/declare.js';
import type { Values } from '../options/declare.js';

export const outputArea = area('output', 'Output', {
  quiet: boolean({ alias: 'q', default: false, doc: 'only warnings, errors and the summary.' }),
  verbose: boolean({ alias: 'v', default: false, doc: 'a line for every row (on stderr).', help: 'a line for every row' }),
  progress: choice(['auto', 'live', 'plain', 'off'], {
    default: 'auto',
    doc: 'a live line on a terminal, or a plain line every 10 s otherwise.',
  }),
});

export type OutputValues = Values<typeof outputArea.options>;
