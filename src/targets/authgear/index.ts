// `--target authgear`: Authgear's Admin API, with a JWT the tool signs from the portal's key.
import type { TargetFactory } from '../target.js';
import { DEFAULT_CONCURRENCY, MATCH_BY, readConfig } from './options.js';
import { AuthgearTarget } from './target.js';

export const authgearTarget: TargetFactory = {
  name: 'authgear',
  describe: "Authgear users, through the Admin API (a JWT signed with the portal's Admin API key)",
  options: {
    endpoint: { type: 'string', describe: "the Authgear project's URL, e.g. https://myapp.authgear.cloud (where /_api/admin answers)" },
    'project-id': { type: 'string', describe: 'the Authgear project ID (myapp for myapp.authgear.cloud): the Admin API token\'s audience' },
    'admin-key-file': { type: 'string', describe: 'the PKCS#8 private key (.pem) downloaded from the portal, Advanced → Admin API' },
    'key-id': { type: 'string', describe: "the Admin API key ID from the portal (default: the key file's name without .pem, as the portal saves it)" },
    'match-by': { type: 'string', describe: `the standard attribute the CSV's user column holds: ${MATCH_BY.join(', ')} (default: email)` },
  },
  defaultConcurrency: DEFAULT_CONCURRENCY,
  async create(context) {
    const config = await readConfig(context);
    return new AuthgearTarget(config, { log: context.log });
  },
};

export { AuthgearTarget, MAX_UPLOAD_BYTES } from './target.js';
export type { AuthgearDeps } from './target.js';
export type { AuthgearConfig, MatchBy } from './options.js';
