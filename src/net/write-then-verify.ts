// A write whose answer is lost (a timeout after the request was sent) may or may not have landed.
// Re-sending blindly can cost a second upload, a second event to every client, or a write on top
// of attributes that changed meanwhile; giving up leaves the row wrong. So, once for every target:
// send the write as not idempotent (the pacer then hands an ambiguous failure back instead of
// re-sending it), read the remote state back, and re-send (now idempotent, so the pacer retries
// it) only when what was read shows the write did not land. Targets supply the three steps and
// classify their errors; they never catch 'unknown' themselves.
import { AvatarError } from '../errors.js';

export interface WriteThenVerify<T> {
  /**
   * Send the write; resolves to the remote state it produced. `idempotent` is false on the first
   * send and true on the re-send; `seen` is what the read-back found before a re-send (a target
   * whose write replaces a whole object builds the re-send on it).
   */
  write(idempotent: boolean, seen?: T): Promise<T>;
  /** Read the remote state the write would have changed (throws a RowError when the object is gone). */
  readBack(): Promise<T>;
  /** Whether the state read back shows that the lost write landed. */
  landed(seen: T): boolean;
}

/** The remote state after the write: from the write's answer, or from the read-back when the
 * answer was lost but the write had landed. */
export async function writeThenVerify<T>(steps: WriteThenVerify<T>): Promise<T> {
  try {
    return await steps.write(false);
  } catch (error) {
    if (!(error instanceof AvatarError) || error.kind !== 'unknown') throw error;
    const seen = await steps.readBack();
    if (steps.landed(seen)) return seen;
    return steps.write(true, seen);
  }
}
