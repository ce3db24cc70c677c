// Who exists, and with which avatar. The first lookup pages once through the admin list-accounts
// API (a few hundred users per request) so that a nightly run of unchanged users costs a handful
// of requests, not one GET per row. Old servers whose list entries carry no avatar_url cannot
// answer "still what we left?" from the list, so they get the per-user admin GET instead. A user
// missing from the list is asked for individually too: it may have been created since.
import { AvatarError } from '../../errors.js';
import type { SynapseAccount, SynapseApi } from './api.js';

export class Directory {
  #bulk?: Promise<Map<string, SynapseAccount> | undefined>;
  #accounts?: Map<string, SynapseAccount>;

  constructor(private readonly api: SynapseApi, private readonly pageSize = 500) {}

  /** The account, or undefined when the homeserver has no such user. */
  async lookup(id: string): Promise<SynapseAccount | undefined> {
    const bulk = await (this.#bulk ??= this.#list());
    return bulk?.get(id) ?? this.api.account(id);
  }

  /** A listed, active user id as close as can be to `sent` (longest common prefix of the local
   * part, case-insensitive); undefined when the list was not read. */
  nearest(sent: string, except: string): string | undefined {
    const local = (id: string): string => id.slice(1, id.includes(':') ? id.indexOf(':') : undefined).toLowerCase();
    const want = local(sent);
    let best: { id: string; shared: number } | undefined;
    for (const account of this.#accounts?.values() ?? []) {
      if (account.deactivated || account.erased || account.name === except || account.name === sent) continue;
      const other = local(account.name);
      let shared = 0;
      while (shared < want.length && shared < other.length && want[shared] === other[shared]) shared++;
      if (!best || shared > best.shared) best = { id: account.name, shared };
    }
    return best?.id;
  }

  /** Keep the cache true to what the tool just set. */
  remember(id: string, avatarUrl: string | undefined): void {
    const known = this.#accounts?.get(id);
    if (known) this.#accounts!.set(id, { ...known, avatarUrl: avatarUrl ?? null });
  }

  async #list(): Promise<Map<string, SynapseAccount> | undefined> {
    const accounts = new Map<string, SynapseAccount>();
    let from: string | undefined = '0';
    try {
      while (from !== undefined) {
        const page = await this.api.accounts(from, this.pageSize);
        if (page.accounts.some((a) => a.avatarUrl === undefined)) return undefined;
        for (const account of page.accounts) accounts.set(account.name, account);
        from = page.nextToken;
      }
    } catch (error) {
      // A fatal error (token, rights) stops the run; anything else just means no bulk discovery.
      if (!(error instanceof AvatarError) || error.kind === 'fatal') throw error;
      return undefined;
    }
    this.#accounts = accounts;
    return accounts;
  }
}
