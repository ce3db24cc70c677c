// multipart/form-data bodies as the servers' own parsers read them (Go's mime/multipart for
// Authgear, Django's for Zulip): both want a CRLF before every delimiter and headers ended by a
// blank line, and both treat a part with an empty filename as an ordinary field.

export interface MultipartPart {
  readonly name?: string;
  readonly filename?: string;
  readonly contentType?: string;
  readonly content: Buffer;
}

/** The boundary of a multipart/form-data Content-Type, undefined for any other type. */
export function multipartBoundary(contentType: string): string | undefined {
  if (!/^multipart\/form-data\s*(;|$)/i.test(contentType)) return undefined;
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : undefined;
}

/** RFC 7578; undefined when the body is not well formed. */
export function parseMultipart(body: Buffer, boundary: string): MultipartPart[] | undefined {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: MultipartPart[] = [];
  let at = body.indexOf(delimiter);
  if (at < 0) return undefined;
  for (;;) {
    at += delimiter.length;
    if (body.subarray(at, at + 2).toString() === '--') return parts;
    if (body.subarray(at, at + 2).toString() !== '\r\n') return undefined;
    at += 2;
    const headerEnd = body.indexOf('\r\n\r\n', at);
    if (headerEnd < 0) return undefined;
    const headers = new Map<string, string>();
    for (const line of body.subarray(at, headerEnd).toString('utf8').split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd + 4);
    if (next < 0) return undefined;
    const disposition = headers.get('content-disposition') ?? '';
    const param = (key: string) => new RegExp(`;\\s*${key}="([^"]*)"`, 'i').exec(disposition)?.[1];
    const name = param('name');
    const filename = param('filename');
    const contentType = headers.get('content-type');
    parts.push({
      ...(name !== undefined ? { name } : {}),
      ...(filename !== undefined && filename !== '' ? { filename } : {}),
      ...(contentType ? { contentType } : {}),
      content: Buffer.from(body.subarray(headerEnd + 4, next)),
    });
    at = next + 2;
  }
}
