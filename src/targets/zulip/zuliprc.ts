// `zuliprc` files as zulip/python-zulip-api reads them (contract notes §4): INI, section [api],
// keys `email`, `key`, `site`; ConfigParser accepts `=` or `:`, `#`/`;` comments, and lowercases
// keys. A `site` without a scheme gets https://, a trailing /api is tolerated.

export interface Zuliprc {
  readonly email?: string;
  readonly key?: string;
  readonly site?: string;
  /** Keys we read but do not act on (client_cert, insecure …): worth a warning. */
  readonly ignored: readonly string[];
}

const USED = new Set(['email', 'key', 'site']);

/** The [api] section of a zuliprc; undefined when the text has no [api] section. */
export function parseZuliprc(text: string): Zuliprc | undefined {
  let section: string | undefined;
  let found = false;
  const values: Record<string, string> = {};
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      section = header[1]!.trim();
      if (section === 'api') found = true;
      continue;
    }
    if (section !== 'api') continue;
    const at = line.search(/[=:]/);
    if (at <= 0) continue;
    values[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
  }
  if (!found) return undefined;
  const ignored = Object.keys(values).filter((k) => !USED.has(k) && values[k] !== '' && !(k === 'insecure' && values[k]!.toLowerCase() === 'false'));
  return {
    ...(values.email ? { email: values.email } : {}),
    ...(values.key ? { key: values.key } : {}),
    ...(values.site ? { site: values.site } : {}),
    ignored,
  };
}

/** The organisation URL in one canonical form (origin + path, no trailing slash or /api), or an
 * explanation of why it is not one. */
export function normaliseSite(value: string): string | { error: string } {
  let text = value.trim();
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) text = `https://${text}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { error: 'not a URL; expected e.g. https://chat.example.com' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { error: 'expected an http(s) URL' };
  if (url.username || url.password || url.search || url.hash) return { error: 'give the bare URL, without credentials, query or fragment' };
  const path = url.pathname.replace(/\/+$/, '').replace(/\/api(\/v1)?$/, '');
  return url.origin + path;
}
