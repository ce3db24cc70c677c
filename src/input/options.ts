// The input and sources options (see src/options/schema.ts for how options are declared and added).
import { area, boolean, bytes, fail, integer, list, number, text } from '../options/declare.js';
import { parseEncodingOption } from './encoding.js';
import { compileTemplate, templateColumns } from './template.js';
import type { Values, Where } from '../options/declare.js';
import { parseDelimiterOption } from './delimiter.js';

export const inputArea = area('input', 'Input', {
  csv: text({
    path: true,
    arg: 'FILE',
    doc: 'the HR export: CSV (any delimiter and encoding) or an `.xlsx` workbook; `-` reads standard input (then `--ledger` is required). Given as the first argument, or as `csv:` in a config file.',
    help: 'the HR export (CSV); - reads standard input',
    defaultDoc: 'required',
  }),
  'id-column': text({
    arg: 'NAME',
    doc: 'column naming the user. Detected from the usual headers (`user_id`, `id`, `username`, `login`, `email`, `work email`, `upn`, `employee id` …; see [Exports from HR systems](#exports-from-hr-systems)); names match ignoring case, spaces, `_`, `-` and `.`.',
    help: 'column naming the user (default: detected from user_id, id, username, login, uid, email, work email, upn, employee id …)',
    defaultDoc: 'detected',
    perTarget: true,
  }),
  'image-column': text({
    arg: 'NAME',
    doc: 'column with the photo. Detected from `image`, `photo`, `picture`, `avatar`, `path`, `file`, `photo file name`, `photo url`, `foto`, `bild` ….',
    help: 'column with the photo (default: detected from image, photo, picture, avatar, path, file, photo url, foto …)',
    defaultDoc: 'detected',
  }),
  'user-template': text({
    arg: 'T',
    doc: "builds the user from columns, e.g. `'@{email\\|localpart\\|lower}:example.org'`. Filters: `lower`, `upper`, `trim`, `localpart`, `domain`, `slug`. In a config file's `targets:` entry it overrides the top-level one for that target (Matrix ids and Authgear emails differ).",
    help: "build the user from columns, e.g. '@{email|localpart|lower}:example.org' (filters: lower, upper, trim, localpart, domain, slug)",
    perTarget: true,
  }),
  'image-template': text({
    arg: 'T',
    doc: "builds the image path (or URL) from columns, e.g. `'photos/{Employee ID}.jpg'`, for exports without a photo column. Same language as `--user-template`.",
    help: "build the image path from columns, e.g. 'photos/{Employee ID}.jpg'",
    check: (value) => {
      // Syntax and filters are checked now; the columns once the header is read.
      compileTemplate(value, templateHeaders(value), '--image-template');
      return value;
    },
  }),
  encoding: text({
    arg: 'NAME',
    doc: 'the file\'s character encoding, any name iconv-lite knows (`utf-8`, `windows-1252`, `latin1`, `utf-16le` …). Detected: a BOM, else UTF-8, else Windows-1252 (announced).',
    help: 'character encoding, e.g. windows-1252 (default: detected: BOM, UTF-8, else Windows-1252)',
    defaultDoc: 'detected',
    check: (value) => parseEncodingOption(value),
  }),
  'skip-lines': integer({
    arg: 'N',
    min: 0,
    default: 0,
    doc: 'lines (rows of a workbook) above the header that are not read, such as a report title. Line numbers stay those of the file.',
  }),
  'skip-rows-matching': text({
    arg: 'REGEX',
    doc: 'drop data rows whose raw line matches (a `Total: 42 employees` footer); never the header.',
    check: (value, where) => {
      try {
        new RegExp(value);
      } catch (error) {
        fail(where, `a regular expression (${(error as Error).message})`, value);
      }
      return value;
    },
  }),
  sheet: text({
    arg: 'NAME',
    doc: 'the worksheet of an `.xlsx` workbook.',
    defaultDoc: 'the first',
  }),
  delimiter: text({
    arg: 'C',
    doc: '`,` `;` `\\|` or `tab`. Detected from the header line.',
    help: 'field separator: , ; | or tab (default: detected from the header line)',
    defaultDoc: 'detected',
    check: parseDelimiter,
  }),
});

export const sourcesArea = area('sources', 'Sources', {
  'images-dir': text({
    path: true,
    arg: 'DIR',
    doc: 'base for relative image paths. A path resolving outside it (`../`, absolute, symlink) fails the row with `path_outside_images_dir`.',
    help: "base folder for relative image paths; nothing outside it is read (default: the CSV's folder)",
    defaultDoc: "the CSV's folder",
  }),
  'allow-host': list({
    arg: 'HOST[:PORT]',
    doc: 'hosts that `http(s)://` image URLs may come from; repeatable. Every redirect is checked again.',
    help: 'host (or host:port) that http(s) image URLs may come from; repeatable',
    default: [],
    defaultDoc: 'none',
    item: parseAllowHost,
  }),
  'fetch-timeout': number({
    arg: 'S',
    unit: 'a number of seconds',
    above: 0,
    default: 30,
    doc: 'seconds before a URL fetch is abandoned (`fetch_failed`).',
  }),
  'max-source-bytes': bytes({
    arg: 'N',
    default: 50 * 1024 * 1024,
    defaultDoc: '50MiB',
    doc: 'largest source read or fetched (`image_too_large`).',
  }),
  'url-auth': list({
    arg: 'HOST[:PORT]=ENVVAR',
    doc: 'send the credential held in the environment variable `ENVVAR` to that host only, as the `Authorization` header (`Basic …`/`Bearer …` as is, else `Bearer <value>`); repeatable. The host is allowed as with `--allow-host`.',
    help: 'send the credential in environment variable ENVVAR to that host only (Authorization header); repeatable',
    default: [],
    defaultDoc: 'none',
    item: parseUrlAuthEntry,
  }),
  'follow-symlinks': boolean({
    default: false,
    doc: 'let symbolic links inside `--images-dir` point outside it (an HR share mounted elsewhere); see `--allow-path`.',
  }),
  'allow-path': list({
    arg: 'DIR',
    path: true,
    doc: 'with `--follow-symlinks`, the folders links may point into; repeatable. Without it, anywhere.',
    default: [],
    defaultDoc: 'anywhere',
    item: (value) => value,
  }),
});

export type InputValues = Values<typeof inputArea.options>;
export type SourcesValues = Values<typeof sourcesArea.options>;

function parseDelimiter(value: string, where: Where): string {
  return parseDelimiterOption(value, `--${where.flag}${where.origin ? ` (${where.origin})` : ''}`);
}

function parseAllowHost(host: string, where: Where): string {
  if (!/^[a-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-f:.]+\](:\d{1,5})?$/i.test(host)) fail(where, 'a host name or host:port (no scheme, no path)', host);
  return host.toLowerCase();
}

/** A template's placeholders as headers, so its syntax can be checked before the file is read. */
function templateHeaders(template: string): string[] {
  return templateColumns(template);
}

function parseUrlAuthEntry(entry: string, where: Where): string {
  // The variable is read when the run is planned (it may be set only for the run); here, the shape.
  if (!/^([a-z0-9.-]+|\[[0-9a-f:.]+\])(:\d{1,5})?=[A-Za-z_][A-Za-z0-9_]*$/i.test(entry.trim())) fail(where, 'HOST[:PORT]=ENVVAR (the credential is read from that environment variable)', entry);
  return entry.trim();
}
