// `--target authgear`: Authgear's Admin API, with a JWT the tool signs from the portal's key.
import { defineTarget } from '../target.js';
import { authgearOptions, DEFAULT_CONCURRENCY, readConfig } from './options.js';

export const authgearTarget = defineTarget({
  name: 'authgear',
  describe: "Authgear users, through the Admin API (a JWT signed with the portal's Admin API key)",
  options: authgearOptions,
  defaultConcurrency: DEFAULT_CONCURRENCY,
  async create(options, context) {
    const config = await readConfig(options, context);
    // The network stack (got, jose) and the target's code load only when this target is used.
    const { AuthgearTarget } = await import('./target.js');
    return new AuthgearTarget(config, { log: context.log });
  },
});

export type { AuthgearDeps } from './target.js';
export type { AuthgearConfig, MatchBy } from './options.js';
