// The one logger every part writes through. Secrets are registered once and masked in every
// message, so a token that slips into an error text (a URL, a got error) never reaches a terminal,
// a log file or the ledger.

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
  /** Mask this value wherever it appears from now on. */
  addSecret(secret: string): void;
  /** Apply the masks to a string (used for anything written to the ledger too). */
  redact(text: string): string;
}

export function createLogger(options: { verbose?: boolean; quiet?: boolean; write?: (line: string) => void } = {}): Logger {
  const secrets = new Set<string>();
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const redact = (text: string): string => {
    let out = text;
    for (const secret of secrets) out = out.split(secret).join('***');
    return out;
  };
  return {
    info: (message) => { if (!options.quiet) write(redact(message)); },
    warn: (message) => write(redact(`warning: ${message}`)),
    debug: (message) => { if (options.verbose) write(redact(`debug: ${message}`)); },
    addSecret: (secret) => { if (secret.length >= 4) secrets.add(secret); },
    redact,
  };
}
