// POST /_api/admin/graphql (pkg/util/graphqlutil/handler.go): the body's content type, the
// checks made before execution (not GraphQL-shaped: > 5 mutation fields is a 400), validation,
// variables, then execution in one transaction that any error rolls back.
import { mulberry32, type FakeRequest, type Reply } from '../harness.js';
import { completeObject, execute, validate } from './executor.js';
import { parseDocument, type Field, type Operation } from './graphql-parser.js';
import { apiError, json } from './replies.js';
import { decodeNodeId, type UserDirectory } from './users.js';

export interface GraphQLRecord {
  readonly body: string;
  readonly operationType?: 'query' | 'mutation';
  /** Top-level fields of the executed operation. */
  readonly fields: string[];
}

export interface EndpointOptions {
  /** The Admin API's body limit (§4: 1 MiB). */
  readonly maxBodyBytes: number;
  /**
   * NOT what Authgear does today (queries are not limited like the 5-mutations rule): a server or
   * gateway that refuses documents with more top-level query fields than `max`, either as Authgear
   * refuses too many mutations (HTTP 400 BadRequest) or as a GraphQL validation error (no `path`).
   * For the tests of the importer's fallback to single lookups.
   */
  readonly queryFieldLimit?: { readonly max: number; readonly as: 'bad-request' | 'graphql-error' } | undefined;
  /** Seeds the unspecified order top-level query fields run in. */
  readonly seed?: number | undefined;
}

export class GraphQLEndpoint {
  /** Every GraphQL request body, in order. */
  readonly records: GraphQLRecord[] = [];
  readonly #random: () => number;

  constructor(private readonly directory: UserDirectory, private readonly options: EndpointOptions) {
    this.#random = mulberry32(options.seed ?? 1);
  }

  handle(request: FakeRequest): Reply {
    if (request.body.length > this.options.maxBodyBytes) {
      // The body is read through a 1 MiB limit before anything else looks at it.
      return apiError(413, 'RequestEntityTooLarge', 'RequestEntityTooLarge', 'request body too large');
    }
    const type = String(request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json' && type !== 'application/graphql') {
      return { status: 415, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'Unsupported Media Type\n' };
    }
    const text = request.body.toString('utf8');
    let params: { query?: unknown; variables?: unknown; operationName?: unknown };
    try {
      params = type === 'application/graphql' ? { query: text } : (JSON.parse(text) as typeof params);
    } catch {
      return apiError(400, 'BadRequest', 'BadRequest', 'invalid JSON body');
    }
    const host = String(request.headers.host);
    const record: { body: string; operationType?: 'query' | 'mutation'; fields: string[] } = { body: text, fields: [] };
    this.records.push(record);

    let doc: Operation[];
    try {
      doc = parseDocument(String(params.query ?? ''));
    } catch (error) {
      return json(200, { data: null, errors: [{ message: (error as Error).message, locations: [] }] });
    }
    const name = typeof params.operationName === 'string' ? params.operationName : undefined;
    const operation = name ? doc.find((o) => o.name === name) : doc.length === 1 ? doc[0] : undefined;
    if (!operation) return json(200, { data: null, errors: [{ message: name ? `Unknown operation named "${name}".` : 'Must provide operation name if query contains multiple operations.', locations: [] }] });
    record.operationType = operation.type;
    // validateMutationFieldCount: before execution, not GraphQL-shaped.
    if (operation.type === 'mutation' && operation.selections.length > 5) {
      return apiError(400, 'BadRequest', 'BadRequest', `too many mutation fields in one request: got ${operation.selections.length}, limit is 5`);
    }
    const limit = this.options.queryFieldLimit;
    if (operation.type === 'query' && limit && operation.selections.length > limit.max) {
      const message = `too many query fields in one request: got ${operation.selections.length}, limit is ${limit.max}`;
      if (limit.as === 'bad-request') return apiError(400, 'BadRequest', 'BadRequest', message);
      return json(200, { data: null, errors: [{ message, locations: [] }] });
    }
    // graphql.Do: parse and validation errors come back as a Result with no data.
    const validation = validate(operation);
    if (validation.length > 0) return json(200, { data: null, errors: validation });
    const variables = (typeof params.variables === 'object' && params.variables !== null ? params.variables : {}) as Record<string, unknown>;
    const missing = operation.variables.filter((v) => v.type.endsWith('!') && v.defaultValue === undefined && (variables[v.name] === undefined || variables[v.name] === null));
    if (missing.length > 0) {
      return json(200, { data: null, errors: missing.map((v) => ({ message: `Variable "$${v.name}" of required type "${v.type}" was not provided.`, locations: [] })) });
    }

    // The whole request is one transaction: any error rolls every mutation back (doRollback).
    const transaction = operation.type === 'mutation' ? this.directory.begin() : undefined;
    const result = execute(operation, variables, (field, args) => this.#resolveTop(operation.type, field, args, host), {
      queryOrder: (count) => this.#shuffled(count),
      onField: (field) => record.fields.push(field.name),
    });
    if (result.errors) transaction?.rollback();
    else transaction?.commit();
    return json(200, result);
  }

  /** A Go map's iteration order: some permutation, not the document's. */
  #shuffled(count: number): number[] {
    const order = Array.from({ length: count }, (_, i) => i);
    for (let i = count - 1; i > 0; i--) {
      const j = Math.floor(this.#random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    return order;
  }

  #resolveTop(type: 'query' | 'mutation', field: Field, args: Record<string, unknown>, host: string): unknown {
    const complete = (value: unknown, typeName: string) => completeObject(value, typeName, field.selections);
    const users = this.directory;
    if (field.name === '__typename') return type === 'query' ? 'Query' : 'Mutation';
    if (type === 'query' && field.name === 'node') {
      const uuid = typeof args.id === 'string' ? decodeNodeId(args.id) : undefined;
      const user = uuid === undefined ? undefined : users.users.get(uuid);
      return user ? complete(users.userObject(user, host), 'User') : null;
    }
    if (type === 'query' && field.name === 'getUsersByStandardAttribute') {
      return users.getUsersByStandardAttribute(String(args.attributeName), String(args.attributeValue)).map((u) => complete(users.userObject(u, host), 'User'));
    }
    if (type === 'mutation' && field.name === 'updateUser') {
      const user = users.updateUser(args.input, host);
      return complete({ __typename: 'UpdateUserPayload', user: users.userObject(user, host) }, 'UpdateUserPayload');
    }
    throw new Error(`fake authgear: no resolver for ${type}.${field.name}`);
  }
}
