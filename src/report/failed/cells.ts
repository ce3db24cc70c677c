// One cell of the failed-rows CSV. Spreadsheets run a cell that starts with = + - @ (or a tab or
// carriage return, which some strip first) as a formula: an HR export is untrusted text, so such a
// cell gets a leading apostrophe (OWASP's "CSV injection" advice); the value stays readable.

const FORMULA_START = /^[=+\-@\t\r]/;

export function neutralise(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

/** RFC 4180 quoting, only where needed: the delimiter, a quote or a line break inside. */
export function quote(value: string, delimiter: string): string {
  return value.includes(delimiter) || /["\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function csvLine(values: readonly string[], delimiter: string): string {
  return values.map((value) => quote(neutralise(value), delimiter)).join(delimiter) + '\r\n';
}
