// How Zulip answers: {"result":"success"|"error","msg",…} JSON, and how it reads request bodies
// (form-encoded parameters, REQ booleans).
import type { FakeRequest, Reply } from '../harness.js';

const json = (status: number, body: Record<string, unknown>, headers?: Record<string, string>): Reply => ({ status, json: body, ...(headers ? { headers } : {}) });

export const success = (body: Record<string, unknown> = {}, headers?: Record<string, string>): Reply => json(200, { result: 'success', msg: '', ...body }, headers);

export const zulipError = (status: number, code: string, msg: string, extra: Record<string, unknown> = {}, headers?: Record<string, string>): Reply =>
  json(status, { result: 'error', msg, code, ...extra }, headers);

export function withHeaders(reply: Reply, headers: Record<string, string>): Reply {
  return { ...reply, headers: { ...headers, ...reply.headers } };
}

export function formBody(request: FakeRequest): URLSearchParams {
  const type = request.headers['content-type'] ?? '';
  return type.startsWith('application/x-www-form-urlencoded') ? new URLSearchParams(request.body.toString('utf8')) : new URLSearchParams();
}

export function bool(raw: string | null, fallback: boolean): boolean | undefined {
  if (raw === null) return fallback;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  return undefined;
}
