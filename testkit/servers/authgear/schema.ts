// The part of the Admin API's GraphQL schema (pkg/admin/graphql) the importer touches: object
// types and their fields, each a leaf (`scalar`) or another object type, and which top-level
// fields are non-null (their errors null the whole `data`, GraphQL's null propagation).

export interface FieldDef {
  readonly type: string;
  readonly args?: readonly string[];
}

export const SCHEMA: Readonly<Record<string, Readonly<Record<string, FieldDef>>>> = {
  Query: {
    __typename: { type: 'scalar' },
    node: { type: 'Node', args: ['id'] },
    // [User!]!
    getUsersByStandardAttribute: { type: 'User', args: ['attributeName', 'attributeValue'] },
  },
  Mutation: { __typename: { type: 'scalar' }, updateUser: { type: 'UpdateUserPayload', args: ['input'] } },
  UpdateUserPayload: { __typename: { type: 'scalar' }, user: { type: 'User' } },
  Node: { __typename: { type: 'scalar' }, id: { type: 'scalar' } },
  User: {
    __typename: { type: 'scalar' },
    id: { type: 'scalar' },
    isDisabled: { type: 'scalar' },
    isDeactivated: { type: 'scalar' },
    isAnonymized: { type: 'scalar' },
    createdAt: { type: 'scalar' },
    updatedAt: { type: 'scalar' },
    standardAttributes: { type: 'scalar' },
    customAttributes: { type: 'scalar' },
  },
};

/** Which concrete types an abstract (or concrete) type may be. */
export const POSSIBLE: Readonly<Record<string, readonly string[]>> = { Node: ['User'], User: ['User'], UpdateUserPayload: ['UpdateUserPayload'] };

/** Top-level fields whose type is non-null: `getUsersByStandardAttribute: [User!]!`, `updateUser: UpdateUserPayload!`. */
export const NON_NULL_TOP: ReadonlySet<string> = new Set(['getUsersByStandardAttribute', 'updateUser']);
