// Several lookups in one GraphQL document: `u0: getUsersByStandardAttribute(…) u1: …`, one
// alias per value, and how to read the answer back row by row.
//
// The answer is not simply per alias. getUsersByStandardAttribute is `[User!]!`: a field error in
// one alias (GetUsersInvalidArgument) has nowhere to null but the whole `data`, and graphql-go
// (what Authgear runs) stops at the first such error and reports only it, with its alias as
// `path`. So: an alias named by an error fails as its own single lookup would; the others get no
// answer and are sent again. An error without a path (or with a path that is not one of ours) is
// about the document itself: the server refuses batches.
import { type AvatarError, RowError } from '../../errors.js';
import { graphqlErrors, graphqlRowError, type GraphQLError } from './errors.js';
import type { MatchBy } from './options.js';
import { USER_FIELDS, toUser, type AuthgearUser } from './user.js';

/** What became of one value of a batch. */
export type LookupOutcome =
  | { readonly users: AuthgearUser[] }
  | { readonly error: AvatarError }
  /** Not answered (another alias's error nulled the data): send it again. */
  | { readonly again: true };

export type BatchAnswer =
  /** The server refused the document itself: look users up one by one instead. */
  | { readonly refused: string }
  | { readonly outcomes: LookupOutcome[] };

const alias = (i: number): string => `u${i}`;

export function batchRequest(name: MatchBy, values: readonly string[]): { query: string; variables: Record<string, unknown> } {
  const definitions = values.map((_, i) => `$v${i}: String!`).join(', ');
  const fields = values.map((_, i) => `  ${alias(i)}: getUsersByStandardAttribute(attributeName: $name, attributeValue: $v${i}) { ${USER_FIELDS} }`);
  return {
    query: `query AvatarImportFindUsersBatch($name: String!, ${definitions}) {\n${fields.join('\n')}\n}`,
    variables: { name, ...Object.fromEntries(values.map((value, i) => [`v${i}`, value])) },
  };
}

/** The body without any value: `{"query":"query …($name: String!, ) {\n}","variables":{"name":"preferred_username"}}`. */
export const BATCH_BASE_BYTES = 160;
// One value's alias line, variable definition and variable, for indexes up to 99 999.
const ITEM_OVERHEAD_BYTES = Buffer.byteLength(
  JSON.stringify(`  u99999: getUsersByStandardAttribute(attributeName: $name, attributeValue: $v99999) { ${USER_FIELDS} }\n$v99999: String!, `) + '"v99999":,',
);

/** At most what `value` adds to a batch's body (its JSON escapes included). */
export function batchItemBytes(value: string): number {
  return ITEM_OVERHEAD_BYTES + Buffer.byteLength(JSON.stringify(value));
}

/** Each value's outcome; `what(value)` names the lookup in messages, as a single lookup does. */
export function readBatchAnswer(body: unknown, values: readonly string[], what: (value: string) => string): BatchAnswer {
  const errors = graphqlErrors(body);
  const index = new Map(values.map((_, i) => [alias(i), i]));
  const named = new Map<number, GraphQLError>();
  for (const error of errors) {
    const head = error.path?.[0];
    const i = typeof head === 'string' ? index.get(head) : undefined;
    if (i === undefined) return { refused: error.errorName ? `${error.errorName}/${error.reason ?? error.errorName}: ${error.message}` : error.message };
    if (!named.has(i)) named.set(i, error);
  }
  const raw = (body as { data?: unknown }).data;
  const data = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : undefined;
  const outcomes = values.map((value, i): LookupOutcome => {
    const error = named.get(i);
    if (error) return { error: graphqlRowError(what(value), error) };
    const list = data?.[alias(i)];
    if (Array.isArray(list)) {
      try {
        return { users: list.map((u) => toUser(u, what(value))) };
      } catch (failure) {
        return { error: failure as AvatarError };
      }
    }
    if (errors.length > 0) return { again: true };
    return { error: new RowError('target_error', `${what(value)}: the answer has no users list`) };
  });
  return { outcomes };
}
