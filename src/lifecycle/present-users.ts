// --remove-missing's first pass: who is in this export, per target, before anything is sent. Only
// the canonical user ids are kept (a Set: about 100 bytes a user, 10 MB for 100 000), never rows.
// A file that cannot be read whole refuses the run: a partial export (cut short, a quote never
// closed, bytes in the wrong encoding, a row whose id is missing) must not look like mass leaving.
import { isAvatarError, UsageError } from '../errors.js';
import type { TableInput } from '../input/table.js';

export interface CensusTarget {
  readonly id: string;
  /** The row's user as this target knows it (throws RowError: missing_value, invalid_user_id). */
  readonly userOf: (fields: Record<string, string>) => string;
  /** The form users are compared in (`features.canonical`), identity when absent. */
  readonly canonical: (user: string) => string;
}

/** How many damaged rows the refusal names. */
const SHOWN = 3;

/** Target id → the canonical users this export names. Throws UsageError when any row is damaged. */
export async function presentUsers(table: TableInput, targets: readonly CensusTarget[], csvName: string): Promise<Map<string, Set<string>>> {
  const present = new Map(targets.map((target) => [target.id, new Set<string>()]));
  const problems: string[] = [];
  let damaged = 0;
  const note = (message: string): void => {
    damaged++;
    if (problems.length < SHOWN) problems.push(message);
  };
  for await (const record of table.records) {
    if ('error' in record) {
      note(record.error.message);
      continue;
    }
    for (const target of targets) {
      let user: string;
      try {
        user = target.userOf(record.fields);
      } catch (error) {
        if (!isAvatarError(error)) throw error;
        note(`line ${record.line}: ${targets.length > 1 ? `${target.id}: ` : ''}${error.message}`);
        continue;
      }
      present.get(target.id)!.add(target.canonical(user));
    }
  }
  if (damaged > 0) {
    throw new UsageError(
      `--remove-missing: ${csvName} has ${damaged} row${damaged === 1 ? '' : 's'} that cannot be read whole (${problems.join('; ')}${damaged > SHOWN ? '; …' : ''}). ` +
        'A damaged or cut-short export would make the people in it look like leavers, so nothing was sent: fix the file, or run without --remove-missing',
    );
  }
  return present;
}
