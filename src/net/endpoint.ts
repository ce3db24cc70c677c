// An HTTP API as a target sees it: every request goes through the target's pacer, every answer
// through the target family's ErrorPolicy. A target calls `send` and gets either a response it
// asked for (2xx or an `expect`ed status) or a classified AvatarError.
import { AvatarError } from '../errors.js';
import type { Logger } from '../log.js';
import { classifyResponse, classifyTransport, maskedForMessages, type ErrorPolicy } from './errors.js';
import type { HttpClient, HttpRequest, HttpResponse } from './http.js';
import type { Pacer } from './pacer.js';

export interface Endpoint {
  readonly http: HttpClient;
  readonly pacer: Pacer;
  send(request: HttpRequest): Promise<HttpResponse>;
}

export function createEndpoint(options: { http: HttpClient; pacer: Pacer; policy: ErrorPolicy; log: Logger }): Endpoint {
  const { http, pacer, policy, log } = options;
  const send = (request: HttpRequest): Promise<HttpResponse> =>
    pacer.call(
      async (signal) => {
        let response: HttpResponse;
        try {
          response = await http.request(request, signal);
        } catch (error) {
          throw redacted(classifyTransport(error, request), log) ?? error;
        }
        const refused = classifyResponse(maskedForMessages(response, log.redact), request, policy);
        if (refused) throw redacted(refused, log);
        return response;
      },
      {
        idempotent: request.idempotent ?? (request.method !== 'POST' && request.method !== 'PATCH'),
        // Timed per method: lookups, uploads and profile writes take very different times.
        kind: request.method,
        what: request.what ?? `${request.method} ${request.path}`,
      },
    );
  return { http, pacer, send };
}

// Messages are built from server answers and got errors; mask any registered secret that a
// server echoed back before the message can reach a log or the ledger.
function redacted(error: AvatarError | undefined, log: Logger): AvatarError | undefined {
  if (error) error.message = log.redact(error.message);
  return error;
}
