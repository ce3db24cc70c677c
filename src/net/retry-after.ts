// Retry-After is either delta-seconds or an HTTP-date (RFC 9110 §10.2.3). Servers in the wild send
// fractional seconds (Zulip: "0.5"), so it is parsed as a decimal, never with parseInt.

/** Milliseconds to wait, or undefined when the header is absent or unreadable. */
export function parseRetryAfter(header: string | string[] | undefined, nowEpochMs: number = Date.now()): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
  // HTTP-dates always name a month; Date.parse alone would read '-1' as a year.
  const at = /[a-z]{3}/i.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowEpochMs);
}
