// `--target matrix`: Synapse, with a server admin's access token.
import { defineTarget } from '../target.js';
import { DEFAULT_CONCURRENCY, matrixOptions, readConfig, TOKEN_ENV } from './options.js';

export const matrixTarget = defineTarget({
  name: 'matrix',
  describe: 'Matrix users on a Synapse homeserver (server admin access token)',
  options: matrixOptions,
  defaultConcurrency: DEFAULT_CONCURRENCY,
  secretEnv: [TOKEN_ENV],
  async create(options, context) {
    const config = await readConfig(options, context);
    context.log.addSecret(config.token);
    // The network stack (got) and the target's code load only when this target is used.
    const { MatrixTarget } = await import('./target.js');
    return new MatrixTarget(config, { log: context.log });
  },
});

export type { MatrixDeps } from './target.js';
export type { MatrixConfig } from './options.js';
