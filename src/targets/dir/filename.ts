import { createHash } from 'node:crypto';

// A user id becomes a file name by an injective encoding, so two users can never share a file,
// whatever their ids look like: lowercase letters, digits, '-', '_' and inner '.' stay as they are
// (readable names for the common case), every other byte becomes %XX. Upper case is encoded too,
// because "Ana" and "ana" would otherwise be the same file on case-insensitive file systems
// (macOS, Windows). '%' itself is always encoded, so an encoded name can never equal a plain one.

const KEEP = /[a-z0-9_-]/;
// Names Windows refuses whatever the extension.
const RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/;
// Leaves room for ".jpg" and a temp suffix within the usual 255-byte name limit.
const MAX_NAME = 180;

export function fileNameFor(user: string): string {
  let name = '';
  const bytes = Buffer.from(user, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    const char = String.fromCharCode(byte);
    const innerDot = char === '.' && i > 0 && i < bytes.length - 1;
    name += byte < 0x80 && (KEEP.test(char) || innerDot) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (name === '') name = '%';
  if (RESERVED.test(name.split('.')[0]!)) name = `%${name.charCodeAt(0).toString(16).toUpperCase()}${name.slice(1)}`;
  if (name.length > MAX_NAME) {
    // '~' is never produced above, so a shortened name cannot equal a short one; two long ids
    // share a name only if their sha256 collide.
    let cut = name.slice(0, MAX_NAME - 65);
    const partial = cut.lastIndexOf('%');
    if (partial > cut.length - 3) cut = cut.slice(0, partial);
    name = `${cut}~${createHash('sha256').update(user).digest('hex')}`;
  }
  return name;
}
