// `--target matrix`: Synapse, with a server admin's access token.
import type { TargetFactory } from '../target.js';
import { DEFAULT_CONCURRENCY, readConfig, TOKEN_ENV } from './options.js';
import { MatrixTarget } from './target.js';

export const matrixTarget: TargetFactory = {
  name: 'matrix',
  describe: 'Matrix users on a Synapse homeserver (server admin access token)',
  options: {
    homeserver: { type: 'string', describe: 'URL of the homeserver client API, e.g. https://matrix.example.org (the admin API must be reachable there too)' },
    'token-file': { type: 'string', describe: `file holding a server admin's access token (default: $${TOKEN_ENV}; never on the command line)` },
  },
  defaultConcurrency: DEFAULT_CONCURRENCY,
  async create(context) {
    const config = await readConfig(context);
    context.log.addSecret(config.token);
    return new MatrixTarget(config, { log: context.log });
  },
};

export { MatrixTarget } from './target.js';
export type { MatrixDeps } from './target.js';
export type { MatrixConfig } from './options.js';
