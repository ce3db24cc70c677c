// `--target zulip`: each user's avatar set with that user's own API key (Zulip has no admin API
// for it), users found with an administrator's key.
import { defineTarget } from '../target.js';
import { DEFAULT_CONCURRENCY, EMAIL_ENV, KEY_ENV, readConfig, SITE_ENV, zulipOptions } from './options.js';
import { PREFERRED_EDGE } from './edge.js';

export const zulipTarget = defineTarget({
  name: 'zulip',
  describe: "Zulip users, each set with that user's own API key (from --credentials, or minted with --jwt-key-file)",
  options: zulipOptions,
  defaultConcurrency: DEFAULT_CONCURRENCY,
  preferredEdge: PREFERRED_EDGE,
  secretEnv: [EMAIL_ENV, KEY_ENV, SITE_ENV],
  async create(options, context) {
    // readConfig registers every key and secret with the logger as it reads them.
    const config = await readConfig(options, context);
    // The network stack (got, jose) and the target's code load only when this target is used.
    const { ZulipTarget } = await import('./target.js');
    return new ZulipTarget(config, { log: context.log });
  },
});

export type { ZulipDeps } from './target.js';
export type { ZulipConfig } from './options.js';
