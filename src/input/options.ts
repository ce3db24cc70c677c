// The input and sources options (see src/options/schema.ts for how options are declared and added).
import { area, bytes, fail, list, number, text } from '../options/declare.js';
import type { Values, Where } from '../options/declare.js';
import { parseDelimiterOption } from './delimiter.js';

export const inputArea = area('input', 'Input', {
  csv: text({
    path: true,
    arg: 'FILE',
    doc: 'the HR export (CSV); `-` reads standard input (then `--ledger` is required). Given as the first argument, or as `csv:` in a config file.',
    help: 'the HR export (CSV); - reads standard input',
    defaultDoc: 'required',
  }),
  'id-column': text({
    arg: 'NAME',
    doc: 'column naming the user. Detected case-insensitively from `user_id`, `id`, `username`, `email`, `login`, `uid` (first found).',
    help: 'column naming the user (default: detected from user_id, id, username, email, login, uid)',
    defaultDoc: 'detected',
    perTarget: true,
  }),
  'image-column': text({
    arg: 'NAME',
    doc: 'column with the photo. Detected from `image`, `photo`, `picture`, `avatar`, `path`, `file`.',
    help: 'column with the photo (default: detected from image, photo, picture, avatar, path, file)',
    defaultDoc: 'detected',
  }),
  'user-template': text({
    arg: 'T',
    doc: "builds the user from columns, e.g. `'@{email\\|localpart\\|lower}:example.org'`. Filters: `lower`, `upper`, `trim`, `localpart`, `domain`, `slug`. In a config file's `targets:` entry it overrides the top-level one for that target (Matrix ids and Authgear emails differ).",
    help: "build the user from columns, e.g. '@{email|localpart|lower}:example.org' (filters: lower, upper, trim, localpart, domain, slug)",
    perTarget: true,
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
