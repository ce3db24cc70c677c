// The GraphQL the Admin API is spoken in, read into a small AST: operations with variables,
// fields with aliases and arguments, inline fragments. Named fragments, directives and
// subscriptions are not supported (the importer never sends them; the fake says so loudly).
// Syntax errors carry graphql-js's wording, since graphql-go reports them alike.

export type Value =
  | { kind: 'var'; name: string }
  | { kind: 'const'; value: unknown }
  | { kind: 'list'; items: Value[] }
  | { kind: 'object'; fields: [string, Value][] };

/** Where a node starts in the document, 1-based, as errors' `locations` report it. */
export interface SourceLocation {
  readonly line: number;
  readonly column: number;
}

export interface Field {
  readonly kind: 'field';
  readonly loc: SourceLocation;
  readonly alias?: string;
  readonly name: string;
  readonly args: [string, Value][];
  readonly selections: Selection[];
}
export interface InlineFragment {
  readonly kind: 'inline';
  readonly on?: string;
  readonly selections: Selection[];
}
export type Selection = Field | InlineFragment;

export interface Operation {
  readonly type: 'query' | 'mutation';
  readonly name?: string;
  readonly variables: { name: string; type: string; defaultValue?: Value }[];
  readonly selections: Selection[];
}

export function parseDocument(text: string): Operation[] {
  const tokens = tokenize(text);
  const location = (token: Token | undefined): SourceLocation => {
    const before = text.slice(0, token?.at ?? text.length);
    const lineStart = before.lastIndexOf('\n') + 1;
    return { line: before.split('\n').length, column: before.length - lineStart + 1 };
  };
  let i = 0;
  const peek = () => tokens[i];
  const next = () => {
    const t = tokens[i++];
    if (t === undefined) throw new Error('Syntax Error: Unexpected <EOF>');
    return t;
  };
  const expect = (value: string) => {
    const t = next();
    if (t.value !== value) throw new Error(`Syntax Error: Expected "${value}", found "${t.value}"`);
  };
  const name = () => {
    const t = next();
    if (t.kind !== 'name') throw new Error(`Syntax Error: Expected Name, found "${t.value}"`);
    return t.value;
  };
  const type = (): string => {
    let out: string;
    if (peek()?.value === '[') {
      next();
      out = `[${type()}]`;
      expect(']');
    } else out = name();
    if (peek()?.value === '!') {
      next();
      out += '!';
    }
    return out;
  };
  const value = (): Value => {
    const t = next();
    if (t.value === '$' && t.kind === 'punct') return { kind: 'var', name: name() };
    if (t.kind === 'string') return { kind: 'const', value: t.value };
    if (t.kind === 'number') return { kind: 'const', value: Number(t.value) };
    if (t.kind === 'name') return { kind: 'const', value: t.value === 'true' ? true : t.value === 'false' ? false : t.value === 'null' ? null : t.value };
    if (t.value === '[') {
      const items: Value[] = [];
      while (peek()?.value !== ']') items.push(value());
      next();
      return { kind: 'list', items };
    }
    if (t.value === '{') {
      const fields: [string, Value][] = [];
      while (peek()?.value !== '}') {
        const key = name();
        expect(':');
        fields.push([key, value()]);
      }
      next();
      return { kind: 'object', fields };
    }
    throw new Error(`Syntax Error: Unexpected "${t.value}"`);
  };
  const selectionSet = (): Selection[] => {
    expect('{');
    const out: Selection[] = [];
    while (peek()?.value !== '}') {
      if (peek()?.value === '...') {
        next();
        let on: string | undefined;
        if (peek()?.value === 'on') {
          next();
          on = name();
        } else if (peek()?.kind === 'name') throw new Error('fake authgear: named fragments are not supported');
        out.push({ kind: 'inline', ...(on ? { on } : {}), selections: selectionSet() });
        continue;
      }
      const loc = location(peek());
      let fieldName = name();
      let alias: string | undefined;
      if (peek()?.value === ':') {
        next();
        alias = fieldName;
        fieldName = name();
      }
      const args: [string, Value][] = [];
      if (peek()?.value === '(') {
        next();
        while (peek()?.value !== ')') {
          const key = name();
          expect(':');
          args.push([key, value()]);
        }
        next();
      }
      const selections = peek()?.value === '{' ? selectionSet() : [];
      out.push({ kind: 'field', loc, ...(alias ? { alias } : {}), name: fieldName, args, selections });
    }
    next();
    if (out.length === 0) throw new Error('Syntax Error: Expected Name, found "}"');
    return out;
  };
  const operations: Operation[] = [];
  while (i < tokens.length) {
    if (peek()?.value === '{') {
      operations.push({ type: 'query', variables: [], selections: selectionSet() });
      continue;
    }
    const kind = name();
    if (kind !== 'query' && kind !== 'mutation') throw new Error(`Syntax Error: Unexpected Name "${kind}"`);
    const opName = peek()?.kind === 'name' ? name() : undefined;
    const variables: Operation['variables'] = [];
    if (peek()?.value === '(') {
      next();
      while (peek()?.value !== ')') {
        expect('$');
        const v = name();
        expect(':');
        const t = type();
        let defaultValue: Value | undefined;
        if (peek()?.value === '=') {
          next();
          defaultValue = value();
        }
        variables.push({ name: v, type: t, ...(defaultValue ? { defaultValue } : {}) });
      }
      next();
    }
    operations.push({ type: kind, ...(opName ? { name: opName } : {}), variables, selections: selectionSet() });
  }
  if (operations.length === 0) throw new Error('Syntax Error: Unexpected <EOF>');
  return operations;
}

interface Token {
  readonly kind: 'punct' | 'name' | 'number' | 'string';
  readonly value: string;
  /** Offset in the document. */
  readonly at: number;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/[\s,\ufeff]/.test(c)) {
      i++;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (text.startsWith('...', i)) {
      tokens.push({ kind: 'punct', value: '...', at: i });
      i += 3;
    } else if ('!$()[]{}:=@|'.includes(c)) {
      tokens.push({ kind: 'punct', value: c, at: i });
      i++;
    } else if (/[_A-Za-z]/.test(c)) {
      const m = /^[_A-Za-z][_0-9A-Za-z]*/.exec(text.slice(i))!;
      tokens.push({ kind: 'name', value: m[0], at: i });
      i += m[0].length;
    } else if (/[-0-9]/.test(c)) {
      const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
      if (!m) throw new Error(`Syntax Error: Unexpected character "${c}"`);
      tokens.push({ kind: 'number', value: m[0], at: i });
      i += m[0].length;
    } else if (c === '"') {
      if (text.startsWith('"""', i)) {
        const end = text.indexOf('"""', i + 3);
        if (end < 0) throw new Error('Syntax Error: Unterminated string.');
        tokens.push({ kind: 'string', value: text.slice(i + 3, end), at: i });
        i = end + 3;
        continue;
      }
      let j = i + 1;
      let raw = '';
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\') {
          raw += text.slice(j, j + 2);
          j += 2;
        } else raw += text[j++];
      }
      if (j >= text.length) throw new Error('Syntax Error: Unterminated string.');
      tokens.push({ kind: 'string', value: JSON.parse(`"${raw}"`) as string, at: i });
      i = j + 1;
    } else {
      throw new Error(`Syntax Error: Cannot parse the unexpected character "${c}".`);
    }
  }
  return tokens;
}
