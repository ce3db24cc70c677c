import { formatBytes, formatDuration } from './format.js';
import type { Tally } from './tally.js';

export interface SummaryContext {
  readonly ledgerPath: string | undefined;
  readonly dryRun: boolean;
  readonly fatal?: { code: string; message: string };
  /** The signal that stopped the run, and how many of this target's rows were not done. */
  readonly interrupted: false | { readonly signal: 'SIGINT' | 'SIGTERM'; readonly left?: number };
  readonly imagesRead?: number;
  readonly imageBytesRead?: number;
  /** --remove-missing was on for this target: the leavers' count is shown even when 0. */
  readonly removeMissing?: boolean;
}

/** The end-of-run report: counts, the commonest error codes with a row to look at, the ledger. */
export function summarise(tally: Tally, context: SummaryContext, now = Date.now()): string {
  const seconds = (now - tally.started) / 1000;
  const lines: string[] = [];
  const verb = context.dryRun ? 'would be' : '';
  const kept = [
    tally.hasOwnAvatar ? `${tally.hasOwnAvatar} ${context.dryRun ? 'would keep' : 'kept'} their own avatar` : '',
    tally.changedByUser ? `${tally.changedByUser} changed by the user` : '',
    tally.noPhoto ? `${tally.noPhoto} with no photo` : '',
  ].filter(Boolean);
  const failures = tally.failed === 0 ? '' : ` (${tally.newFailures} new, ${tally.carriedFailures} as last time)`;
  lines.push(
    `${context.dryRun ? 'dry run: ' : ''}${tally.done} rows in ${formatDuration(seconds)}` +
      ` (${(tally.done / Math.max(seconds, 0.001)).toFixed(1)} rows/s):` +
      ` ${tally.ok} ${verb ? `${verb} ` : ''}ok, ${tally.skipped} skipped${kept.length ? ` (${kept.join(', ')})` : ''}, ${tally.failed} failed${failures}` +
      // Leavers are users, not rows of this CSV: counted apart.
      (context.removeMissing || tally.removed > 0
        ? `; not in the CSV: ${tally.removed} ${context.dryRun ? 'would be removed' : 'removed'}${tally.leaversKept ? `, ${tally.leaversKept} left alone` : ''}`
        : ''),
  );
  if (context.imagesRead !== undefined) lines.push(`images read: ${context.imagesRead} (${formatBytes(context.imageBytesRead ?? 0)})`);
  const top = tally.topCodes();
  if (top.length > 0) {
    lines.push('failures by code:');
    for (const { code, count, sample } of top) lines.push(`  ${code.padEnd(28)} ${String(count).padStart(7)}  e.g. row ${sample.row}${sample.user ? ` (${sample.user})` : ''}`);
    if (tally.codes.size > top.length) lines.push(`  … and ${tally.codes.size - top.length} more codes`);
    lines.push('first failures:');
    for (const line of [...tally.firstFailures].sort((a, b) => a.row - b.row)) lines.push(`  row ${line.row}${line.user ? ` ${line.user}` : ''}: ${line.error?.code}: ${line.error?.message}`);
  }
  if (context.fatal) lines.push(`aborted: ${context.fatal.code}: ${context.fatal.message} — rows not done are picked up by the next run`);
  if (context.interrupted) {
    const { signal, left } = context.interrupted;
    const rest = left === undefined ? 'the rest of the rows were' : `${left} row${left === 1 ? ' was' : 's were'}`;
    lines.push(`interrupted (${signal}): requests already sent were finished and recorded; ${rest} not done and nothing was written for them${context.removeMissing ? ', nor for leavers not yet removed' : ''}: run the same command again to do them`);
  }
  if (tally.hasOwnAvatar) lines.push(`${tally.hasOwnAvatar} user${tally.hasOwnAvatar === 1 ? '' : 's'} already had an avatar of their own (has_own_avatar): kept; --replace-existing replaces them`);
  if (context.ledgerPath) lines.push(`ledger: ${context.ledgerPath}`);
  else if (context.dryRun) lines.push('ledger: not written (dry run)');
  return lines.join('\n');
}
