// The one logger every part writes through. Secrets are registered once and masked in every
// message, so a token that slips into an error text (a URL, a got error) never reaches a terminal,
// a log file or the ledger. URLs lose their credentials, query and fragment the same way.
import { stripUrlSecrets } from './url-secrets.js';

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
  /** Mask this value wherever it appears from now on. */
  addSecret(secret: string): void;
  /** Apply the masks to a string (used for anything written to the ledger too). Mask first, cut
   * after: a text cut before this can still leave a secret's head, which is masked too. */
  redact(text: string): string;
}

export function createLogger(options: { verbose?: boolean; quiet?: boolean; write?: (line: string) => void } = {}): Logger {
  const secrets = new Set<string>();
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const redact = (text: string): string => {
    let out = text;
    for (const secret of secrets) out = maskSecret(out, secret);
    return stripUrlSecrets(out);
  };
  return {
    info: (message) => { if (!options.quiet) write(redact(message)); },
    warn: (message) => write(redact(`warning: ${message}`)),
    debug: (message) => { if (options.verbose) write(redact(`debug: ${message}`)); },
    addSecret: (secret) => { if (secret.length >= 4) secrets.add(secret); },
    redact,
  };
}

/** A secret's head this long is masked even without the rest: whatever cut the text (a length
 * limit, ours or a server's) must not leave a token readable minus its last characters. Shorter
 * heads are too likely to be ordinary text. */
const MIN_HEAD = 8;

function maskSecret(text: string, secret: string): string {
  if (secret.length < MIN_HEAD) return text.split(secret).join('***');
  const head = secret.slice(0, MIN_HEAD);
  let out = '';
  let from = 0;
  for (let at = text.indexOf(head); at !== -1; at = text.indexOf(head, from)) {
    let length = MIN_HEAD;
    while (length < secret.length && text[at + length] === secret[length]) length++;
    out += text.slice(from, at) + '***';
    from = at + length;
  }
  return from === 0 ? text : out + text.slice(from);
}
