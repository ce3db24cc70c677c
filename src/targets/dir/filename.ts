import { createHash } from 'node:crypto';
import { compileTemplate } from '../../input/template.js';

// A user id becomes a file name people can read and type (`jane.doe@example.org.jpg`), safe on
// every file system: letters (lower-cased, composed Unicode), digits, '.', '@', '-' and '_' stay
// as they are, every other byte becomes %XX ('%' itself always does, so an encoded name can never
// equal a plain one). Lower-casing is what keeps names apart on case-insensitive file systems
// (macOS, Windows): two users who would differ only by case get one name, and DirTarget.claim
// fails the later row with duplicate_file_name instead of letting one overwrite the other.

// Names Windows refuses whatever the extension.
const RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/;
// Leaves room for ".jpg" and a temp suffix within the usual 255-byte name limit.
const MAX_NAME = 180;

/** The readable default: `{user|lower}`, made safe. */
export function fileNameFor(user: string): string {
  return safeName(user.normalize('NFC').toLowerCase(), user);
}

/** `--file-name TEMPLATE` (the --user-template language, with one placeholder: {user}). */
export function fileNamer(template: string | undefined): (user: string) => string {
  if (template === undefined) return fileNameFor;
  const build = compileTemplate(template, ['user'], '--file-name');
  return (user) => safeName(build({ user }).normalize('NFC'), user);
}

/** The key two names share when a case-insensitive file system would take them for one file. */
export function sameFileKey(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

// Most ids are plain ASCII that stays as it is: answered by one test instead of a loop per
// character (a nightly run names 100 000 files twice). Exactly what the loop would return.
const PLAIN = /^[A-Za-z0-9@_-](?:[A-Za-z0-9.@_-]*[A-Za-z0-9@_-])?$/;

function safeName(text: string, user: string): string {
  if (text.length <= MAX_NAME && PLAIN.test(text) && !RESERVED.test(text.split('.')[0]!.toLowerCase())) return text;
  const chars = [...text];
  const parts: string[] = [];
  let bytes = 0;
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i]!;
    // A leading dot would hide the file; a trailing one is dropped by Windows.
    const edgeDot = char === '.' && (i === 0 || i === chars.length - 1);
    const part = /^[\p{L}\p{N}@_-]$/u.test(char) || (char === '.' && !edgeDot) ? char : percent(char);
    parts.push(part);
    bytes += Buffer.byteLength(part);
    // Past the limit the name is cut and hashed anyway: no need to encode the rest of a huge id.
    if (bytes > MAX_NAME + 16) break;
  }
  let name = parts.join('');
  if (name === '') name = '%';
  if (RESERVED.test(name.split('.')[0]!.toLowerCase())) name = `${percent(name[0]!)}${name.slice(1)}`;
  if (Buffer.byteLength(name) > MAX_NAME) {
    // '~' is never produced above, so a shortened name cannot equal a short one; two long ids
    // share a name only if their sha256 collide. Cut at a whole part, so no %XX is split.
    let cut = '';
    for (const part of parts) {
      if (Buffer.byteLength(cut) + Buffer.byteLength(part) > MAX_NAME - 65) break;
      cut += part;
    }
    name = `${cut}~${createHash('sha256').update(user).digest('hex')}`;
  }
  return name;
}

function percent(char: string): string {
  return [...Buffer.from(char, 'utf8')].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join('');
}
