// GraphQL execution over the schema in schema.ts: validation (unknown fields and arguments,
// selections on leaves), argument values from variables, completion of results (only what was
// selected, under its alias) and field errors with the null propagation of a non-null field.
import type { Field, Operation, Selection, SourceLocation, Value } from './graphql-parser.js';
import { NON_NULL_TOP, POSSIBLE, SCHEMA } from './schema.js';

/** A resolver's error, reported in `errors[]` with the API error's name and reason. */
export class FieldError extends Error {
  readonly extensions?: Record<string, unknown>;
  constructor(message: string, errorName?: string, reason?: string, info?: unknown) {
    super(message);
    if (errorName) this.extensions = { errorName, reason: reason ?? errorName, ...(info === undefined ? {} : { info }) };
  }
}

/** gqlerrors.FormattedError: `path` only for field errors (omitempty), `locations` always. */
export interface GraphQLError {
  readonly message: string;
  readonly locations: SourceLocation[];
  readonly path?: (string | number)[];
  readonly extensions?: Record<string, unknown>;
}

/** graphql.Result: `data` is always there (null when nothing ran), `errors` only when some occurred. */
export interface ExecutionResult {
  readonly data: Record<string, unknown> | null;
  readonly errors?: GraphQLError[];
}

/** Resolves one top-level field to the object (or list of objects) its selections complete. */
export type TopResolver = (field: Field, args: Record<string, unknown>) => unknown;

export interface ExecuteOptions {
  /** The order a query's top-level fields run in: graphql-go ranges over a Go map, so it is
   * unspecified (a seeded shuffle here). Mutations run in document order (executeFieldsSerially). */
  readonly queryOrder: (count: number) => number[];
  /** Sees each field just before it runs. */
  readonly onField?: (field: Field) => void;
}

export function validate(operation: Operation): GraphQLError[] {
  const errors: GraphQLError[] = [];
  const error = (message: string, field?: Field) => errors.push({ message, locations: field ? [field.loc] : [] });
  const walk = (typeName: string, selections: Selection[]) => {
    for (const s of selections) {
      if (s.kind === 'inline') {
        const on = s.on ?? typeName;
        if (!SCHEMA[on] || (on !== typeName && !(POSSIBLE[on] ?? []).includes(typeName) && !(POSSIBLE[typeName] ?? []).includes(on))) {
          error(`Fragment cannot be spread here as objects of type "${typeName}" can never be of type "${on}".`);
          continue;
        }
        walk(on, s.selections);
        continue;
      }
      const def = SCHEMA[typeName]![s.name];
      if (!def) {
        error(`Cannot query field "${s.name}" on type "${typeName}".`, s);
        continue;
      }
      for (const [arg] of s.args) if (!(def.args ?? []).includes(arg)) error(`Unknown argument "${arg}" on field "${s.name}" of type "${typeName}".`, s);
      for (const arg of def.args ?? []) if (!s.args.some(([a]) => a === arg)) error(`Field "${s.name}" argument "${arg}" is required but not provided.`, s);
      if (def.type === 'scalar' && s.selections.length > 0) error(`Field "${s.name}" must not have a selection since type has no subfields.`, s);
      if (def.type !== 'scalar' && s.selections.length === 0) error(`Field "${s.name}" of type "${def.type}" must have a sub selection.`, s);
      if (def.type !== 'scalar') walk(def.type, s.selections);
    }
  };
  walk(operation.type === 'query' ? 'Query' : 'Mutation', operation.selections);
  return errors;
}

/**
 * Runs the operation's top-level fields as graphql-go v0.8.1 does (executor.go). A field error on
 * a nullable field nulls that field and is reported beside the data. A field error on a NON-NULL
 * field (getUsersByStandardAttribute: [User!]!, updateUser) has nowhere to null but the whole
 * `data`: resolveField re-panics it up to Execute, whose recover returns a fresh Result holding
 * that one error, so errors gathered before it are dropped and the fields after it never run. With
 * several failing aliases, which one is reported depends on the (unspecified) field order.
 */
export function execute(operation: Operation, variables: Record<string, unknown>, resolve: TopResolver, options: ExecuteOptions): ExecutionResult {
  const data: Record<string, unknown> = {};
  const errors: GraphQLError[] = [];
  const fields = operation.selections as Field[];
  const order = operation.type === 'mutation' ? fields.map((_, i) => i) : options.queryOrder(fields.length);
  for (const index of order) {
    const field = fields[index]!;
    options.onField?.(field);
    const key = field.alias ?? field.name;
    try {
      data[key] = resolve(field, resolveArguments(field.args, variables));
    } catch (error) {
      if (!(error instanceof FieldError)) throw error;
      const formatted: GraphQLError = { message: error.message, locations: [field.loc], path: [key], ...(error.extensions ? { extensions: error.extensions } : {}) };
      if (NON_NULL_TOP.has(field.name)) return { data: null, errors: [formatted] };
      errors.push(formatted);
      data[key] = null;
    }
  }
  // Result.Data and the objects in it are Go maps: encoding/json writes their keys sorted, not in
  // the document's order, so a client must find each alias by name.
  const sorted = sortedKeys(data) as Record<string, unknown>;
  return errors.length > 0 ? { data: sorted, errors } : { data: sorted };
}

function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (typeof value !== 'object' || value === null) return value;
  const object = value as Record<string, unknown>;
  return Object.fromEntries(Object.keys(object).sort().map((k) => [k, sortedKeys(object[k])]));
}

function resolveArguments(args: [string, Value][], variables: Record<string, unknown>): Record<string, unknown> {
  const value = (v: Value): unknown => {
    if (v.kind === 'var') return variables[v.name];
    if (v.kind === 'const') return v.value;
    if (v.kind === 'list') return v.items.map(value);
    return Object.fromEntries(v.fields.map(([k, f]) => [k, value(f)]).filter(([, f]) => f !== undefined));
  };
  return Object.fromEntries(args.map(([k, v]) => [k, value(v)]));
}

/** Only what was selected, under its alias, in selection order. */
export function completeObject(value: unknown, typeName: string, selections: Selection[]): unknown {
  if (value === null || value === undefined) return null;
  const source = value as Record<string, unknown>;
  const actual = typeof source.__typename === 'string' ? source.__typename : typeName;
  const out: Record<string, unknown> = {};
  const apply = (list: Selection[]) => {
    for (const s of list) {
      if (s.kind === 'inline') {
        if (!s.on || s.on === actual || (POSSIBLE[s.on] ?? []).includes(actual)) apply(s.selections);
        continue;
      }
      const def = SCHEMA[actual]?.[s.name] ?? SCHEMA[typeName]?.[s.name];
      const field = s.name === '__typename' ? actual : source[s.name];
      out[s.alias ?? s.name] = def && def.type !== 'scalar' ? completeObject(field, def.type, s.selections) : (field ?? null);
    }
  };
  apply(selections);
  return out;
}
