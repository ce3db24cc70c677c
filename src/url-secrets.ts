// Image cells, redirects and error texts carry URLs, and URLs carry secrets: `user:password@` in
// the authority, signatures and tokens in the query or the fragment. Every message and ledger
// field goes through this, whether or not the URL could be parsed (a cell refused before parsing
// is exactly the one that still holds everything).

const URL_IN_TEXT = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s"'<>`]*)/gi;

/** `text` with every `scheme://…` in it reduced to scheme, host and path: credentials dropped,
 * a query or fragment replaced by `?…` / `#…` so a reader still sees there was one. */
export function stripUrlSecrets(text: string): string {
  if (!text.includes('://')) return text;
  return text.replace(URL_IN_TEXT, (_match, scheme: string, rest: string) => scheme + stripRest(scheme, rest));
}

function stripRest(scheme: string, rest: string): string {
  let kept = rest;
  // The authority runs to the first '/': an '@' in it ends the user-info, even when a password
  // holds a '?' or '#' (which a parser would have taken for the start of a query).
  const slash = kept.indexOf('/');
  const authority = slash === -1 ? kept : kept.slice(0, slash);
  const at = authority.lastIndexOf('@');
  if (at !== -1) kept = kept.slice(at + 1);
  else if (!parses(scheme + kept)) {
    // Unparseable (the cells refused as invalid): a password may even hold a '/', so any '@'
    // before the query is taken as the end of user-info.
    const end = kept.search(/[?#]/);
    const lastAt = (end === -1 ? kept : kept.slice(0, end)).lastIndexOf('@');
    if (lastAt !== -1) kept = kept.slice(lastAt + 1);
  }
  const tail = kept.search(/[?#]/);
  if (tail === -1) return kept;
  return kept.slice(0, tail) + (kept[tail] === '?' ? '?…' : '#…');
}

function parses(text: string): boolean {
  try {
    new URL(text);
    return true;
  } catch {
    return false;
  }
}
