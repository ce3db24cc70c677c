// Matrix (Synapse) as a Target: find users through the admin API, upload the JPEG to the media
// repository, set it with the client profile PUT. Never the admin v2 PUT: it creates the account
// when the user does not exist (contract notes §2.1, seed 000).
import { FatalError, RowError } from '../../errors.js';
import { createEndpoint } from '../../net/endpoint.js';
import { createHttp, type Timeouts } from '../../net/http.js';
import type { Pacer } from '../../net/pacer.js';
import { writeThenVerify } from '../../net/write-then-verify.js';
import type { Account, Applied, ApplyOptions, Avatar, Prior, Target, TargetFeatures, TargetLimits } from '../target.js';
import { targetPacer, type PacingDeps } from '../pacing.js';
import { startup } from '../startup.js';
import { UploadOnce } from '../upload-once.js';
import { SynapseApi } from './api.js';
import { Directory } from './directory.js';
import { matrixPolicy } from './errors.js';
import type { MatrixConfig } from './options.js';
import { parseUserId } from './user-id.js';

/** What tests and benchmarks may change; the CLI uses the defaults. */
export interface MatrixDeps extends PacingDeps {
  readonly timeouts?: Timeouts;
  /** Accounts per list-accounts request. */
  readonly pageSize?: number;
}

interface Session {
  readonly api: SynapseApi;
  readonly pacer: Pacer;
  readonly directory: Directory;
  /** The homeserver's server_name (from whoami): only its users can be changed. */
  readonly serverName: string;
  /** Whose token this is (from whoami): never offered as an example user. */
  readonly admin: string;
}

export class MatrixTarget implements Target<undefined> {
  readonly name = 'matrix';
  readonly id: string;
  /** Matrix ids are case-sensitive as written (`@Ana:x` is not `@ana:x`). */
  readonly features: TargetFeatures<undefined> = {
    guardsUserChanges: true, bulkDiscovery: true, backupPrevious: false, reusesUploads: true,
    // An mxc URI stays valid after another is set: rollback sets the old one again.
    restore: (account, previous) => this.#put(account, previous),
    remove: async (account) => {
      await this.#put(account, '');
      return account.current ? { previous: account.current } : {};
    },
    knownUser: async (sent) => this.#session?.directory.nearest(sent, this.#session.admin),
  };
  /** Synapse's version, known after open(). */
  serverVersion?: string;
  #session?: Session;
  /** Identical avatars within a run are uploaded once (see UploadOnce). */
  #uploads = new UploadOnce();

  constructor(private readonly config: MatrixConfig, private readonly deps: MatrixDeps) {
    this.id = `matrix:${config.homeserver}`;
  }

  /** The pacer's counters (calls in flight, retries, 429s): for progress and benchmarks. */
  get pacer(): Pacer | undefined {
    return this.#session?.pacer;
  }

  async open(signal: AbortSignal): Promise<TargetLimits> {
    const { config, deps } = this;
    const pacer = targetPacer('matrix', config, deps, signal);
    const http = createHttp({ baseUrl: config.homeserver, log: deps.log, bearer: () => config.token, ...(deps.timeouts ? { timeouts: deps.timeouts } : {}) });
    const api = new SynapseApi(createEndpoint({ http, pacer, policy: matrixPolicy, log: deps.log }));

    this.serverVersion = await startup(
      api.serverVersion(),
      `${config.homeserver} does not answer as Synapse with its admin API (/_synapse/admin must be routed to Synapse at this URL)`,
    );
    const me = await startup(api.whoami(), `${config.homeserver}: cannot check the access token`);
    await startup(api.account(me), `${config.homeserver}: cannot check that ${me} is a server admin`).catch((error: unknown) => {
      if (error instanceof FatalError && error.code === 'not_admin') {
        throw new FatalError('not_admin', `the access token belongs to ${me}, which is not a server admin on ${config.homeserver}; the import needs an admin's token`);
      }
      throw error;
    });
    const maxBytes = await startup(api.uploadSizeLimit(), `${config.homeserver}: cannot read the media config`);
    this.#session = { api, pacer, directory: new Directory(api, deps.pageSize), serverName: me.slice(me.indexOf(':') + 1), admin: me };
    return maxBytes === undefined ? {} : { maxBytes };
  }

  async resolve(user: string, _prior: Prior | undefined): Promise<Account<undefined>> {
    const { directory, serverName } = this.#open();
    const id = parseUserId(user);
    if ('error' in id) throw new RowError('invalid_user_id', `${user} ${id.error}`);
    if (id.serverName !== serverName) {
      throw new RowError('invalid_user_id', `${user} is not on this homeserver (${serverName}); only its own users can be changed`);
    }
    const account = await directory.lookup(user);
    if (!account) throw new RowError('user_not_found', `${user} does not exist on ${serverName}`);
    if (account.deactivated || account.erased) {
      throw new RowError('user_deactivated', `${user} is ${account.erased ? 'erased' : 'deactivated'}; left untouched`);
    }
    return { user, ...(account.avatarUrl ? { current: account.avatarUrl } : {}), state: undefined };
  }

  async apply(account: Account<undefined>, avatar: Avatar, options: ApplyOptions = {}): Promise<Applied> {
    const { directory } = this.#open();
    // An upload an interrupted run made of these bytes and never set is set now rather than
    // uploaded again: Synapse keeps every upload forever (issue 11).
    const upload = () => this.#open().api.upload(avatar.jpeg, `avatar-${avatar.sha256.slice(0, 16)}.jpg`);
    const mxc = await this.#uploads.get(avatar.sha256, options.reuse ? () => Promise.resolve(options.reuse!) : upload);
    await options.intend?.(mxc);
    await this.#setAvatar(account.user, mxc);
    directory.remember(account.user, mxc);
    return { remote: mxc, ...(account.current ? { previous: account.current } : {}) };
  }

  /** Set `mxc` ('' clears the avatar, as Synapse's profile API takes it). */
  async #put(account: Account<undefined>, mxc: string): Promise<Applied> {
    await this.#setAvatar(account.user, mxc);
    this.#open().directory.remember(account.user, mxc === '' ? undefined : mxc);
    return { remote: mxc, ...(account.current ? { previous: account.current } : {}) };
  }

  async close(): Promise<void> {
    this.#session?.pacer.stop(new Error('the matrix target is closed'));
    this.#session = undefined;
  }

  #open(): Session {
    if (!this.#session) throw new Error('matrix target: open() must succeed before resolve() or apply()');
    return this.#session;
  }

  /** A 429 here may come after the write (§4.3): the pacer re-sends the same mxc, which is
   * idempotent. A timeout may also hide a write, so the profile is read back before deciding. */
  async #setAvatar(user: string, mxc: string): Promise<void> {
    const { api } = this.#open();
    await writeThenVerify<string | null | undefined>({
      write: async (idempotent) => {
        await api.setAvatar(user, mxc, { idempotent });
        return mxc;
      },
      readBack: async () => (await api.account(user))?.avatarUrl,
      landed: (now) => (now ?? '') === mxc,
    });
  }
}
