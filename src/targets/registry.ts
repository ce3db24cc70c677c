import type { TargetFactory } from './target.js';
import { dirTarget } from './dir/index.js';
import { matrixTarget } from './matrix/index.js';
import { authgearTarget } from './authgear/index.js';
import { zulipTarget } from './zulip/index.js';

/** Every target the CLI offers; a new backend adds one line here and a folder beside it. */
export const targets: readonly TargetFactory[] = [dirTarget, matrixTarget, authgearTarget, zulipTarget];

export function findTarget(name: string): TargetFactory | undefined {
  return targets.find((target) => target.name === name);
}
