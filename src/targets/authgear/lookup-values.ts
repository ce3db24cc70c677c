// Values that cannot be looked up, caught before they are sent. Authgear answers a value it
// cannot normalise with GetUsersInvalidArgument, and in a batch of aliased lookups that field
// error nulls the whole answer (GraphQL null propagation), so every bad value that reaches the
// server costs the batch a re-send. The rules are deliberately looser than Authgear's: a value
// refused here is one Authgear would refuse too; anything doubtful is left to the server.
import type { MatchBy } from './options.js';

/** Longer than any address RFC 5321 allows (254), any E.164 number, any sane username. */
const MAX_LENGTH = 320;

/** Why `value` cannot be a `name` Authgear finds users by, or undefined when it may be. */
export function lookupValueProblem(name: MatchBy, value: string): string | undefined {
  if (value.trim() === '') return 'empty';
  if (value.length > MAX_LENGTH) return `longer than ${MAX_LENGTH} characters`;
  if (/[\u0000-\u001f\u007f]/.test(value)) return 'contains control characters';
  switch (name) {
    case 'email': {
      // The login-ID normaliser splits at the last @ (and has no address without one).
      const at = value.lastIndexOf('@');
      if (at <= 0 || at === value.length - 1) return 'not an email address (no local part @ domain)';
      if (/\s/.test(value)) return 'not an email address (contains spaces)';
      return undefined;
    }
    case 'phone_number':
      // E.164 (+ and up to 15 digits) once the usual separators are ignored.
      if (!/^\+?[\d\s().-]+$/.test(value) || value.replace(/\D/g, '').length > 15) return 'not a phone number (expected E.164, e.g. +85291234567)';
      return undefined;
    case 'preferred_username':
      if (/\s/.test(value)) return 'not a username (contains spaces)';
      return undefined;
  }
}
