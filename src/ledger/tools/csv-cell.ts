// One CSV cell for a file people open in a spreadsheet. A cell starting with = + - @ (or a tab or
// carriage return, which some spreadsheets strip before looking) is taken as a formula: a user id
// or an error message from an HR export or a server could run one (CSV injection, OWASP). Such
// cells get a leading apostrophe, which spreadsheets show as text and do not evaluate. Then the
// usual RFC 4180 quoting.

const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(value: string): string {
  const safe = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
