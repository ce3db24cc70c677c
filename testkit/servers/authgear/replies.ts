// How Authgear's HTTP layer answers outside GraphQL: API errors as {"error":{name,reason,…}}
// JSON, and the authz middleware's bare 403 (http.Error, text/plain).
import type { Reply } from '../harness.js';

export const json = (status: number, body: unknown): Reply => ({ status, json: body });

export const apiError = (status: number, name: string, reason: string, message: string, info?: unknown): Reply =>
  json(status, { error: { name, reason, message, code: status, ...(info === undefined ? {} : { info }) } });

export const forbidden = (): Reply => ({ status: 403, headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' }, body: 'Forbidden\n' });
