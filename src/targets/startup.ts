import { AvatarError, FatalError } from '../errors.js';

/** Before the first row anything short of success ends the run: a server that answers 5xx or
 * times out while `open` probes it is `target_unavailable` (exit 3), with what was being checked. */
export async function startup<T>(step: Promise<T>, context: string): Promise<T> {
  try {
    return await step;
  } catch (error) {
    if (error instanceof AvatarError && error.kind !== 'fatal') {
      throw new FatalError('target_unavailable', `${context}: ${error.message}`);
    }
    throw error;
  }
}
