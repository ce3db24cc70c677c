// A target built the way the CLI builds it: options given by flag name (as on the command line),
// checked by the same declarations, passed typed to the factory.
import type { Logger } from '../../src/log.js';
import { resolveSettings } from '../../src/options/settings.js';
import { buildTarget, targetInput } from '../../src/pipeline/plan.js';
import type { Target, TargetContext, TargetFactory } from '../../src/targets/target.js';

export interface Base {
  readonly runId?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly log: Logger;
}

function settingsFor(factory: TargetFactory, flags: Record<string, unknown>) {
  return resolveSettings(new Map(Object.entries({ ...flags, target: factory.name }))).targets[0]!;
}

/** The typed options and context the factory of `factory` would get for these flags. */
export function inputFor<F extends TargetFactory<any>>(factory: F, flags: Record<string, unknown>, base: Base): { options: Parameters<F['create']>[0]; context: TargetContext } {
  return targetInput(settingsFor(factory, flags), { runId: base.runId ?? 'run-1', env: base.env ?? {}, log: base.log }) as never;
}

export async function createTarget(factory: TargetFactory<any>, flags: Record<string, unknown>, base: Base): Promise<Target> {
  return buildTarget(settingsFor(factory, flags), { runId: base.runId ?? 'run-1', env: base.env ?? {}, log: base.log });
}
