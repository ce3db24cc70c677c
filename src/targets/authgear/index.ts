// `--target authgear`: Authgear's Admin API, with a JWT the tool signs from the portal's key.
import { defineTarget } from '../target.js';
import { authgearOptions, DEFAULT_CONCURRENCY, readConfig } from './options.js';
import { AuthgearTarget } from './target.js';

export const authgearTarget = defineTarget({
  name: 'authgear',
  describe: "Authgear users, through the Admin API (a JWT signed with the portal's Admin API key)",
  options: authgearOptions,
  defaultConcurrency: DEFAULT_CONCURRENCY,
  async create(options, context) {
    const config = await readConfig(options, context);
    return new AuthgearTarget(config, { log: context.log });
  },
});

export { AuthgearTarget, MAX_UPLOAD_BYTES } from './target.js';
export type { AuthgearDeps } from './target.js';
export type { AuthgearConfig, MatchBy } from './options.js';
