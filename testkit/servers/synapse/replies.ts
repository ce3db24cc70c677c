// How Synapse (and the nginx in front of it) answers: Matrix errors as {errcode, error, …} JSON,
// request bodies read as JSON or not at all.
import type { Reply } from '../harness.js';

export const errorBody = (errcode: string, error: string, extra: Record<string, unknown> = {}) => ({ errcode, error, ...extra });
export const json = (status: number, body: unknown, headers?: Record<string, string>): Reply => ({ status, json: body, ...(headers ? { headers } : {}) });
export const matrixError = (status: number, errcode: string, error: string, extra?: Record<string, unknown>) => json(status, errorBody(errcode, error, extra));

export const NGINX_413 =
  '<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

export function parseBody(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}
