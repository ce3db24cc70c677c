// An Authgear that answers like the real one (../shared/targets/authgear.md, read from
// authgear-server fa7a7d5). It is deliberately no kinder than the real server:
//   - every /_api/admin route checks the JWT (Bearer regex, kid, RS256 signature with the public
//     key, aud = project ID, exp/iat with 5 min skew) and answers 403 text/plain `Forbidden`;
//   - presigned upload URLs are HMAC-signed over method, path, query and Host, expire after 900 s
//     and work once (a second POST finds the object and answers 409 DuplicatedImage);
//   - the upload checks signature → content type → exactly one file part (only parts with a
//     filename count) named `file` → 1 B..10 MiB ("asset too large" is a 400) → duplicate;
//   - GraphQL is parsed and validated (unknown fields, missing variables, > 5 mutation fields is a
//     400, a body over 1 MiB a 413), answers HTTP 200 with `errors[].extensions.errorName/reason`,
//     and rolls a request's mutations back when any error appears;
//   - it executes as graphql-go v0.8.1 does: aliases, top-level query fields in an unspecified
//     order, and null propagation: an error in a non-null field (getUsersByStandardAttribute is
//     [User!]!) nulls the whole `data`, reports only that one error (path = its alias) and stops
//     the fields not yet run; objects come back with their keys sorted (Go maps);
//   - updateUser REPLACES standardAttributes: derived keys are stripped, identity-aware keys are
//     re-populated from identities, every other omitted key is deleted, additionalProperties is
//     false, picture must be x_picture; customAttributes are untouched when omitted and wiped by {};
//   - standardAttributes read back with the derived keys and picture in its https form.
// The fake has no TLS: the picture's read form says https (as behind Authgear's TLS ingress), while
// upload URLs carry the scheme the request came in with, as the real presign does, so they work.
//
// This file wires the routes and holds the API tests drive; each concern lives in authgear/:
// admin-jwt (authz), images (presign, upload, read), graphql-endpoint (the HTTP side of GraphQL),
// graphql-parser, executor and schema (GraphQL itself), users and standard-attributes (the state).
import { randomUUID } from 'node:crypto';
import { FakeServer, HostedFake, type FakeRequest, type Reply, type Route } from './harness.js';
import { AdminKeys, generateKey, type SeenToken } from './authgear/admin-jwt.js';
import { GraphQLEndpoint, type EndpointOptions, type GraphQLRecord } from './authgear/graphql-endpoint.js';
import { ImageService, MAX_UPLOAD_BYTES, type StoredImage } from './authgear/images.js';
import { apiError, forbidden } from './authgear/replies.js';
import { IDENTITY_AWARE, UserDirectory, nodeId, type FakeUser, type Hook, type Identity } from './authgear/users.js';

export { MAX_UPLOAD_BYTES, nodeId };
export { decodeNodeId } from './authgear/users.js';
export type { FakeUser, GraphQLRecord, Hook, Identity, SeenToken, StoredImage };

export interface AuthgearOptions {
  /** The project (app) ID: the JWT audience and the images' app segment. */
  readonly projectId?: string;
  /** Wall clock in epoch ms for JWT times and URL expiry (a fake clock in tests). */
  readonly now?: () => number;
  /** jwx's acceptable skew (5 min on the real server). */
  readonly skewSeconds?: number;
  /** `MaxContentLength` (10 MiB). */
  readonly maxUploadBytes?: number;
  /** IMAGES_CDN_HOST: the host the picture reads back with. Default: the request's host. */
  readonly imagesCdnHost?: string;
  /** The GraphQL body limit (1 MiB). */
  readonly maxGraphQLBodyBytes?: number;
  /** NOT real Authgear: refuse queries with more top-level fields (see EndpointOptions). */
  readonly queryFieldLimit?: EndpointOptions['queryFieldLimit'];
  /** Seeds the order top-level query fields run in (a Go map's: unspecified). */
  readonly fieldOrderSeed?: number;
}

/** §4: a GraphQL body may be at most 1 MiB. */
export const MAX_GRAPHQL_BODY_BYTES = 1024 * 1024;

let sharedKey: { privateKeyPem: string } | undefined;

export class FakeAuthgear extends HostedFake {
  readonly projectId: string;
  /** The key the portal would hand out: `<keyId>.pem`, PKCS#8. */
  readonly keyId: string;
  readonly privateKeyPem: string;
  /** Every token that passed, in order of requests. */
  readonly tokens: SeenToken[] = [];
  hook: Hook = {};
  readonly #now: () => number;
  readonly #keys: AdminKeys;
  readonly #images: ImageService;
  readonly #directory: UserDirectory;
  readonly #graphql: GraphQLEndpoint;

  private constructor(options: AuthgearOptions) {
    super();
    const opts = { projectId: 'myapp', now: Date.now, skewSeconds: 300, maxUploadBytes: MAX_UPLOAD_BYTES, ...options };
    this.projectId = opts.projectId;
    this.#now = opts.now;
    this.#keys = new AdminKeys(opts);
    this.#images = new ImageService(opts);
    this.#directory = new UserDirectory({ now: opts.now, imagesCdnHost: opts.imagesCdnHost, hook: () => this.hook });
    this.#graphql = new GraphQLEndpoint(this.#directory, {
      maxBodyBytes: options.maxGraphQLBodyBytes ?? MAX_GRAPHQL_BODY_BYTES,
      queryFieldLimit: options.queryFieldLimit,
      seed: options.fieldOrderSeed,
    });
    // RSA-2048 generation costs a few hundred ms: the fakes of one test process share a key pair
    // (each under its own key id); generateKey() makes a fresh one for "a key it does not know".
    const key = (sharedKey ??= generateKey());
    this.keyId = this.#keys.add(key.privateKeyPem);
    this.privateKeyPem = key.privateKeyPem;
  }

  static async start(options: AuthgearOptions = {}): Promise<FakeAuthgear> {
    const fake = new FakeAuthgear(options);
    fake.server = await FakeServer.start({
      routes: fake.#routes(),
      unrouted: (_request, methodAllowed) =>
        methodAllowed ? { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: '404 page not found\n' } : { status: 405, body: '' },
      // No Retry-After anywhere in Authgear (§4).
      rateLimited: () => apiError(429, 'TooManyRequest', 'RateLimited', 'request rate limited', { bucket_name: 'AdminAPI' }),
      serverError: () => apiError(500, 'InternalError', 'UnexpectedError', 'unexpected error'),
    });
    return fake;
  }

  /** A PKCS#8 RSA-2048 key as the portal generates it. */
  static generateKey(): { privateKeyPem: string } {
    return generateKey();
  }

  // --- state for tests ---------------------------------------------------------------------

  get users(): Map<string, FakeUser> {
    return this.#directory.users;
  }

  get images(): Map<string, StoredImage> {
    return this.#images.images;
  }

  /** Upload URLs issued, in order. */
  get presigned(): string[] {
    return this.#images.presigned;
  }

  /** Every GraphQL request body, in order. */
  get graphql(): GraphQLRecord[] {
    return this.#graphql.records;
  }

  /** Every HTTP request to the GraphQL endpoint, whatever its answer: what a run costs the server. */
  get graphqlRequests(): number {
    return this.server.count('graphql');
  }

  /** The `input` of every updateUser that was executed (also those rolled back). */
  get updates(): Record<string, unknown>[] {
    return this.#directory.updates;
  }

  /** Another active Admin API key (rotation). Returns its id and PEM. */
  addKey(): { keyId: string; privateKeyPem: string } {
    const { privateKeyPem } = generateKey();
    return { keyId: this.#keys.add(privateKeyPem), privateKeyPem };
  }

  /** The key is deleted in the portal: tokens it signed are refused from now on. */
  revokeKey(keyId: string): void {
    this.#keys.revoke(keyId);
  }

  /** Register a user; identity claims become the identity-aware attributes. Returns the node ID. */
  addUser(init: {
    email?: string;
    phone_number?: string;
    preferred_username?: string;
    /** More identities (account linking, OAuth). */
    identities?: Identity[];
    /** Other standard attributes, storage form. */
    standard?: Record<string, unknown>;
    custom?: Record<string, unknown>;
    disabled?: boolean;
    deactivated?: boolean;
    anonymized?: boolean;
  }): string {
    const uuid = randomUUID();
    const identities: Identity[] = [...(init.identities ?? [])];
    for (const key of IDENTITY_AWARE) {
      if (init[key] !== undefined) identities.unshift({ kind: 'login_id', [key]: init[key], verified: true });
    }
    const now = this.#now();
    this.#directory.add({
      uuid,
      standard: { ...(init.standard ?? {}) },
      custom: { ...(init.custom ?? {}) },
      identities,
      disabled: init.disabled ?? false,
      deactivated: init.deactivated ?? false,
      anonymized: init.anonymized ?? false,
      createdAt: now,
      updatedAt: now,
    });
    return nodeId(uuid);
  }

  user(id: string): FakeUser {
    const user = this.#directory.byNodeId(id);
    if (!user) throw new Error(`fake authgear: no user ${id}`);
    return user;
  }

  /** What the Admin API shows as standardAttributes, read through this server's own host. */
  readAttributes(id: string): Record<string, unknown> {
    return this.#directory.readForm(this.user(id), new URL(this.url).host);
  }

  /** What a user (or the portal) does: change one attribute; undefined deletes it. */
  setAttribute(id: string, key: string, value: unknown): void {
    const user = this.user(id);
    if (value === undefined) delete user.standard[key];
    else user.standard[key] = value;
    user.updatedAt = Math.max(this.#now(), user.updatedAt + 1);
  }

  /** Top-level GraphQL fields executed so far (`getUsersByStandardAttribute`, `updateUser` …). */
  count(field: string): number {
    return this.graphql.reduce((n, r) => n + r.fields.filter((f) => f === field).length, 0);
  }

  // --- routes ------------------------------------------------------------------------------

  #routes(): Route[] {
    const admin = (handle: (q: FakeRequest) => Reply) => (q: FakeRequest) => this.#authorized(q) ?? handle(q);
    return [
      { name: 'presign', method: 'GET', path: /^\/_api\/admin\/images\/upload$/, handle: admin((q) => this.#images.presign(q)) },
      { name: 'presign', method: 'POST', path: /^\/_api\/admin\/images\/upload$/, handle: admin((q) => this.#images.presign(q)) },
      { name: 'graphql', method: 'POST', path: /^\/_api\/admin\/graphql$/, handle: admin((q) => this.#graphql.handle(q)) },
      { name: 'image_upload', method: 'POST', path: /^\/_images\/([^/]+)\/([^/]+)$/, handle: (q, [app, obj]) => this.#images.upload(q, app!, obj!) },
      { name: 'image_get', method: 'GET', path: /^\/_images\/([^/]+)\/([^/]+)\/([^/]+)$/, handle: (_q, [app, obj, options]) => this.#images.serve(app!, obj!, options!) },
    ];
  }

  /** undefined when the JWT passes (pkg/lib/admin/authz/middleware.go), else the 403. */
  #authorized(request: FakeRequest): Reply | undefined {
    const seen = this.#keys.check(request);
    if (!seen) return forbidden();
    this.tokens.push(seen);
    return undefined;
  }
}
