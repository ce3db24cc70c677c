// Matrix user id grammar (spec, Appendices › Identifier Grammar): `@localpart:server_name`, the
// localpart from a-z 0-9 . _ = - / +, the whole id at most 255 characters. Synapse looks users up
// case-sensitively, so an uppercase id can only ever be "not found": refuse it up front instead.

export interface UserId {
  readonly localpart: string;
  readonly serverName: string;
}

const LOCALPART = /^[a-z0-9._=\-/+]+$/;
// hostname [":" port]; hostname is an IPv4 address, a bracketed IPv6 address or a DNS name.
const SERVER_NAME = /^(?:\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9.-]{1,255})(?::\d{1,5})?$/;

/** The parsed id, or why it is not a valid Matrix user id. */
export function parseUserId(user: string): UserId | { error: string } {
  if (user.length > 255) return { error: `is ${user.length} characters long; a Matrix user id has at most 255` };
  if (!user.startsWith('@')) return { error: "does not start with '@' (expected @localpart:server)" };
  const colon = user.indexOf(':');
  if (colon < 0) return { error: "has no ':server' part (expected @localpart:server)" };
  const localpart = user.slice(1, colon);
  const serverName = user.slice(colon + 1);
  if (!LOCALPART.test(localpart)) {
    return { error: `has a localpart '${localpart}' with characters outside a-z 0-9 . _ = - / + (Matrix ids are lowercase)` };
  }
  if (!SERVER_NAME.test(serverName)) return { error: `has an invalid server name '${serverName}'` };
  return { localpart, serverName };
}
