// GraphQL execution over the schema in schema.ts: validation (unknown fields and arguments,
// selections on leaves), argument values from variables, completion of results (only what was
// selected, under its alias) and field errors with the null propagation of a non-null field.
import type { Field, Operation, Selection, Value } from './graphql-parser.js';
import { NON_NULL_TOP, POSSIBLE, SCHEMA } from './schema.js';

/** A resolver's error, reported in `errors[]` with the API error's name and reason. */
export class FieldError extends Error {
  readonly extensions?: Record<string, unknown>;
  constructor(message: string, errorName?: string, reason?: string, info?: unknown) {
    super(message);
    if (errorName) this.extensions = { errorName, reason: reason ?? errorName, ...(info === undefined ? {} : { info }) };
  }
}

export interface GraphQLError {
  readonly message: string;
  readonly locations: unknown[];
  readonly path?: (string | number)[];
  readonly extensions?: Record<string, unknown>;
}

export interface ExecutionResult {
  readonly data?: Record<string, unknown> | null;
  readonly errors?: GraphQLError[];
}

/** Resolves one top-level field to the object (or list of objects) its selections complete. */
export type TopResolver = (field: Field, args: Record<string, unknown>) => unknown;

export function validate(operation: Operation): string[] {
  const errors: string[] = [];
  const walk = (typeName: string, selections: Selection[]) => {
    for (const s of selections) {
      if (s.kind === 'inline') {
        const on = s.on ?? typeName;
        if (!SCHEMA[on] || (on !== typeName && !(POSSIBLE[on] ?? []).includes(typeName) && !(POSSIBLE[typeName] ?? []).includes(on))) {
          errors.push(`Fragment cannot be spread here as objects of type "${typeName}" can never be of type "${on}".`);
          continue;
        }
        walk(on, s.selections);
        continue;
      }
      const def = SCHEMA[typeName]![s.name];
      if (!def) {
        errors.push(`Cannot query field "${s.name}" on type "${typeName}".`);
        continue;
      }
      for (const [arg] of s.args) if (!(def.args ?? []).includes(arg)) errors.push(`Unknown argument "${arg}" on field "${s.name}" of type "${typeName}".`);
      for (const arg of def.args ?? []) if (!s.args.some(([a]) => a === arg)) errors.push(`Field "${s.name}" argument "${arg}" is required but not provided.`);
      if (def.type === 'scalar' && s.selections.length > 0) errors.push(`Field "${s.name}" must not have a selection since type has no subfields.`);
      if (def.type !== 'scalar' && s.selections.length === 0) errors.push(`Field "${s.name}" of type "${def.type}" must have a sub selection.`);
      if (def.type !== 'scalar') walk(def.type, s.selections);
    }
  };
  walk(operation.type === 'query' ? 'Query' : 'Mutation', operation.selections);
  return errors;
}

/** Runs the operation's top-level fields in order; `onField` sees each before it runs. */
export function execute(operation: Operation, variables: Record<string, unknown>, resolve: TopResolver, onField: (field: Field) => void = () => {}): ExecutionResult {
  const data: Record<string, unknown> = {};
  const errors: GraphQLError[] = [];
  let nullData = false;
  for (const field of operation.selections as Field[]) {
    onField(field);
    const key = field.alias ?? field.name;
    try {
      data[key] = resolve(field, resolveArguments(field.args, variables));
    } catch (error) {
      if (!(error instanceof FieldError)) throw error;
      errors.push({ message: error.message, locations: [], path: [key], ...(error.extensions ? { extensions: error.extensions } : {}) });
      if (NON_NULL_TOP.has(field.name)) nullData = true;
      else data[key] = null;
    }
  }
  return errors.length > 0 ? { data: nullData ? null : data, errors } : { data };
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
