// A cell can be megabytes long (a photo pasted as a data: URL, a runaway field): what is copied
// from it into a ledger field or a message is capped, so that two such cells cannot turn into a
// 15 MB ledger and a 15 MB summary. The digest of the whole keeps capped values distinct, so a
// ledger field still tells two long cells apart and still notices when one changes.
import { createHash } from 'node:crypto';

/** Characters kept from a cell copied into a ledger field (user, source). */
export const MAX_FIELD_CHARS = 1024;
/** Characters kept of a message (which may quote a cell, or two). */
export const MAX_MESSAGE_CHARS = 2048;

export function capText(text: string, max: number = MAX_FIELD_CHARS): string {
  if (text.length <= max) return text;
  // Never split a surrogate pair: half of one is not text.
  const cut = /[\ud800-\udbff]/.test(text[max - 1] ?? '') ? max - 1 : max;
  const digest = createHash('sha256').update(text).digest('hex').slice(0, 16);
  return `${text.slice(0, cut)}… (${text.length - cut} more characters, sha256 ${digest})`;
}
