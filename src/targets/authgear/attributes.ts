// Standard attributes as the importer handles them (contract notes §3.4–3.5). `updateUser`
// replaces the whole object, so the write is always "everything the user has, with only picture
// changed"; the derived keys are left out (the server strips them anyway), customAttributes are
// never sent. After the write, the read-back must show our picture and every other key as before.
import { isDeepStrictEqual } from 'node:util';

export type StandardAttributes = Readonly<Record<string, unknown>>;

/** Computed by Authgear on read, stripped by it on write (`WithDerivedAttributesRemoved`). */
export const DERIVED = ['email_verified', 'phone_number_verified', 'updated_at'] as const;

/** The attributes to send: the current ones without the derived keys, `picture` replaced
 * (undefined: removed, as a rollback to "no picture" does). */
export function withPicture(current: StandardAttributes, picture: string | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(current)) {
    if (!(DERIVED as readonly string[]).includes(key)) out[key] = value;
  }
  if (picture === undefined) delete out.picture;
  else out.picture = picture;
  return out;
}

/** The picture as a string, or undefined when none is set. */
export function pictureOf(attributes: StandardAttributes | undefined): string | undefined {
  const picture = attributes?.picture;
  return typeof picture === 'string' && picture !== '' ? picture : undefined;
}

/**
 * Whether `readBack` (the https form, `https://<host>/_images/<app>/<obj>/profile`, §2.3) is the
 * image stored as `stored` (`authgearimages:///<app>/<obj>`). The host may be the request host or
 * an images CDN, so only the path is compared.
 */
export function isPictureOf(readBack: string | undefined, stored: string): boolean {
  if (readBack === undefined) return false;
  if (readBack === stored) return true;
  const object = /^authgearimages:\/\/\/(.+)$/.exec(stored)?.[1];
  if (!object) return false;
  let url: URL;
  try {
    url = new URL(readBack);
  } catch {
    return false;
  }
  return (url.protocol === 'https:' || url.protocol === 'http:') && url.pathname === `/_images/${object}/profile`;
}

export interface Difference {
  readonly key: string;
  readonly before: unknown;
  readonly after: unknown;
}

/** Every key other than picture and updated_at whose value differs between the two reads. */
export function otherDifferences(before: StandardAttributes, after: StandardAttributes): Difference[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  const out: Difference[] = [];
  for (const key of [...keys].sort()) {
    if (key === 'picture' || key === 'updated_at') continue;
    if (!isDeepStrictEqual(before[key], after[key])) out.push({ key, before: before[key], after: after[key] });
  }
  return out;
}

/** `name: "Ana Ortiz" → (missing)`. */
export function describeDifferences(differences: readonly Difference[]): string {
  const show = (value: unknown) => (value === undefined ? '(missing)' : JSON.stringify(value));
  return differences.map((d) => `${d.key}: ${show(d.before)} → ${show(d.after)}`).join('; ');
}
