// `--target zulip`: each user's avatar set with that user's own API key (Zulip has no admin API
// for it), users found with an administrator's key.
import type { TargetFactory } from '../target.js';
import { DEFAULT_CONCURRENCY, EMAIL_ENV, KEY_ENV, readConfig } from './options.js';
import { ZulipTarget } from './target.js';

export const zulipTarget: TargetFactory = {
  name: 'zulip',
  describe: "Zulip users, each set with that user's own API key (from --credentials, or minted with --jwt-key-file)",
  options: {
    site: { type: 'string', describe: 'URL of the Zulip organisation, e.g. https://chat.example.com (default: site= in --admin-zuliprc)' },
    'admin-zuliprc': { type: 'string', describe: `zuliprc of an organisation owner or administrator, used only to find users (default: $${EMAIL_ENV} and $${KEY_ENV})` },
    'jwt-key-file': { type: 'string', describe: "file holding the organisation's JWT_AUTH_KEYS HS256 secret, to fetch each user's key (self-hosted; a root credential: see the README)" },
    credentials: { type: 'string', describe: "each user's own key: a CSV of email,api_key or a folder of zuliprc files" },
    'key-cache': { type: 'string', describe: 'where keys fetched with --jwt-key-file are kept, encrypted, mode 0600 (default: ~/.config/avatar-import/zulip-keys/<host>.jsonl)' },
  },
  defaultConcurrency: DEFAULT_CONCURRENCY,
  async create(context) {
    // readConfig registers every key and secret with the logger as it reads them.
    const config = await readConfig(context);
    return new ZulipTarget(config, { log: context.log });
  },
};

export { ZulipTarget } from './target.js';
export type { ZulipDeps } from './target.js';
export type { ZulipConfig } from './options.js';
