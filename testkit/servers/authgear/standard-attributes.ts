// The standard attributes' JSON schema (pkg/lib/authn/stdattrs/validate.go) and the x_picture
// format (pkg/util/validation/formats.go): what updateUser refuses with ValidationFailed.
import { posix } from 'node:path';

/** Keys the server derives and strips before validation (WithDerivedAttributesRemoved). */
export const DERIVED = ['email_verified', 'phone_number_verified', 'updated_at'];
const STRING_ATTRIBUTES = [
  'email', 'phone_number', 'preferred_username', 'family_name', 'given_name', 'middle_name', 'name', 'nickname',
  'picture', 'profile', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale',
];
const ADDRESS_KEYS = ['formatted', 'street_address', 'locality', 'region', 'postal_code', 'country'];

/** pkg/lib/authn/stdattrs/validate.go, the parts that matter here. */
export function validateStandardAttributes(attrs: Record<string, unknown>): unknown[] {
  const causes: unknown[] = [];
  for (const [key, value] of Object.entries(attrs)) {
    const location = `/${key}`;
    if (key === 'address') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        causes.push({ location, kind: 'type', details: { expected: ['object'] } });
        continue;
      }
      for (const [k, v] of Object.entries(value)) {
        if (!ADDRESS_KEYS.includes(k)) causes.push({ location: `${location}/${k}`, kind: 'additionalProperties', details: { property: k } });
        else if (typeof v !== 'string') causes.push({ location: `${location}/${k}`, kind: 'type', details: { expected: ['string'] } });
      }
      continue;
    }
    if (!STRING_ATTRIBUTES.includes(key)) {
      causes.push({ location: '', kind: 'additionalProperties', details: { property: key } });
      continue;
    }
    if (typeof value !== 'string') {
      causes.push({ location, kind: 'type', details: { expected: ['string'] } });
      continue;
    }
    if (key === 'picture') {
      const error = pictureFormatError(value);
      if (error) causes.push({ location, kind: 'format', details: { format: 'x_picture', error } });
    }
  }
  return causes;
}

/** pkg/util/validation/formats.go FormatPicture. */
function pictureFormatError(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'invalid URL';
  }
  const clean = (path: string) => path.startsWith('/') && posix.normalize(path) === path && !path.includes('//');
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    if (!url.host) return 'input URL must be absolute';
    // new URL() resolves dot segments itself: look at the raw text for them.
    const rawPath = /^[a-z]+:\/\/[^/?#]*([^?#]*)/i.exec(value)?.[1] ?? '';
    if (!clean(rawPath || '/') || /\/\.\.?(\/|$)/.test(rawPath)) return 'input URL must be normalized';
    return undefined;
  }
  if (url.protocol === 'authgearimages:') {
    if (!value.startsWith('authgearimages:///')) return 'input URL must not have host';
    const rawPath = value.slice('authgearimages://'.length).split(/[?#]/)[0]!;
    if (!clean(rawPath) || /\/\.\.?(\/|$)/.test(rawPath)) return 'input URL must be normalized';
    return undefined;
  }
  return `invalid scheme: ${url.protocol.replace(/:$/, '')}`;
}
