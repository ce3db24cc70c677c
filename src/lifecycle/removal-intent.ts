import type { IntentLine } from '../ledger/lines.js';
import type { Target } from '../targets/target.js';

/** Whether the target shows what a removal intent (`removes`) named: the avatar the user had
 * before the tool, or none ('' ). Then the removal landed, whether or not its line was written. */
export function removalLanded(intent: IntentLine, current: string | undefined, target: Target): boolean {
  if (intent.remote === undefined || intent.remote === '') return current === undefined;
  const same = target.features.isIntended ?? ((a: string, b: string) => a === b);
  return current !== undefined && same(current, intent.remote);
}
