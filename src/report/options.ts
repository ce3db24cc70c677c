// The output options (see src/options/schema.ts for how options are declared and added).
import { area, boolean, choice, fail, number, text } from '../options/declare.js';
import type { Values } from '../options/declare.js';

export const outputArea = area('output', 'Output', {
  quiet: boolean({ alias: 'q', default: false, doc: 'only warnings, errors and the summary.' }),
  verbose: boolean({ alias: 'v', default: false, doc: 'a line for every row (on stderr), and `row` events in the log.', help: 'a line for every row' }),
  progress: choice(['auto', 'live', 'plain', 'off'], {
    default: 'auto',
    doc: 'a live line on a terminal, or a plain line every `--progress-interval` seconds otherwise.',
  }),
  'progress-interval': number({
    arg: 'S', unit: 'seconds', min: 1, max: 3600, default: 10,
    doc: 'seconds between plain progress lines and `progress` log events.',
  }),
  preview: text({
    arg: 'FILE.html', path: true,
    check: (value, where) => (/\.html?$/i.test(value) ? value : fail(where, 'a file name ending in .html', value)),
    doc: 'write a contact sheet of every row (source photo beside its avatar, status, error) to FILE.html, pictures in `FILE_files/`; see [Reports](#reports-a-contact-sheet-a-failed-rows-file-for-hr-logs-for-log-shippers).',
    help: 'write a contact sheet (HTML) of every row; pictures in FILE_files/',
    defaultDoc: 'none',
  }),
  report: text({
    arg: 'FILE', path: true,
    check: (value, where) => (/\.xls$/i.test(value) ? fail(where, 'a .csv or .xlsx file name (not the old .xls format)', value) : value),
    doc: "write the rows that failed, with the CSV's own columns and what to do, to FILE (the input's delimiter and encoding; a workbook when FILE ends in .xlsx).",
    help: "write the failed rows, with the CSV's own columns and a hint, to FILE (.csv or .xlsx)",
    defaultDoc: 'none',
  }),
  'log-file': text({ arg: 'FILE', path: true, doc: "append the run's events to FILE (see `--log-format`).", defaultDoc: 'none (stderr)' }),
  'log-format': choice(['text', 'json'], {
    default: 'text',
    doc: 'events as JSON lines (time, level, msg, run, event and its fields) for log shippers, or text; `json` without `--log-file` writes them to stderr.',
    help: 'json: one JSON object per event (to --log-file, or stderr); text: lines for people',
  }),
  json: boolean({ default: false, doc: 'print the end-of-run summary as one JSON object on stdout (the text summary goes to stderr).', help: 'the end-of-run summary as one JSON object on stdout' }),
});

export type OutputValues = Values<typeof outputArea.options>;
