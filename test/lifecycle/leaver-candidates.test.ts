// Who counts as a leaver (a user absent from the export whose avatar the tool set), and what
// their avatar goes back to, as tables of ledger histories.
import type { LookupResult } from '../../src/ledger/ledger.js';
import type { HeldRowLine, IntentLine, RowLine } from '../../src/ledger/lines.js';
import { follow, isLeaver, type Origin } from '../../src/lifecycle/leaver-candidates.js';
import { defaultMaxRemovals } from '../../src/lifecycle/leavers-plan.js';

const base = { type: 'row', ts: '', run: 'r', row: 1, user: 'ana', target: 'matrix:https://hs', source: 'a.jpg', settings: 's' } as const;
const row = (more: Partial<RowLine>): RowLine => ({ ...base, status: 'ok', ...more });
const wrote = (remote: string, previous?: string): HeldRowLine =>
  ({ ...base, status: 'ok', remote, outputSha256: `sha-${remote}`, bytes: 1, ...(previous === undefined ? {} : { previous }) });
const heldOurs = wrote('mxc://ours');
const importIntent: IntentLine = { type: 'intent', ts: '', run: 'r2', row: 1, user: 'ana', target: base.target, source: 'a.jpg', settings: 's', outputSha256: 'x', bytes: 1, remote: 'mxc://new' };
const removalIntent: IntentLine = { ...importIntent, row: 0, remote: '', removes: true };

describe('isLeaver: an absent user whose avatar the tool set', () => {
  const cases: [string, LookupResult, boolean][] = [
    ['never seen', {}, false],
    ['set by the tool, still the latest line', { latest: heldOurs, held: heldOurs }, true],
    ['set by the tool, skipped as unchanged since', { latest: row({ status: 'skipped', remote: 'mxc://ours' }), held: heldOurs }, true],
    ['set by the tool, then the photo went missing (a failure leaves the avatar in place)', { latest: row({ status: 'failed', error: { code: 'file_not_found', message: '' } }), held: heldOurs }, true],
    ['set by the tool, then no photo in the export (no_photo leaves it in place)', { latest: row({ status: 'skipped', reason: 'no_photo' }), held: heldOurs }, true],
    ['only ever failed: the tool set nothing', { latest: row({ status: 'failed', error: { code: 'file_not_found', message: '' } }) }, false],
    ['kept their own avatar at first contact', { latest: row({ status: 'skipped', reason: 'has_own_avatar', found: 'mxc://theirs' }) }, false],
    ['already removed (latest line removed, nothing held)', { latest: row({ status: 'removed', remote: '', previous: 'mxc://ours' }) }, false],
    ['changed their avatar since: left alone, not asked again', { latest: row({ status: 'skipped', reason: 'changed_by_user' }), held: heldOurs }, false],
    ['gone from the target: not asked again', { latest: row({ status: 'skipped', reason: 'user_gone' }), held: heldOurs }, false],
    ['rolled back to none (the tool holds nothing)', { latest: row({ status: 'ok', reason: 'rollback', remote: '' }) }, false],
    ['a removal killed before its line: to finish (or record)', { latest: heldOurs, held: heldOurs, intent: removalIntent }, true],
    ['an import write killed before its line: as the held line says', { latest: heldOurs, held: heldOurs, intent: importIntent }, true],
  ];
  test.each(cases)('%s', (_name, found, expected) => {
    expect(isLeaver(found)).toBe(expected);
  });
});

describe('follow: what a leaver gets back is what they had before the tool, not its older photo', () => {
  const cases: [string, RowLine[], Origin['origin']][] = [
    ['one write over nothing: none', [wrote('A')], null],
    ['one write over their own: theirs', [wrote('A', 'mine')], 'mine'],
    ['a new photo over the tool\'s: still theirs', [wrote('A', 'mine'), wrote('B', 'A')], 'mine'],
    ['a new photo over the tool\'s, skips between: still theirs', [wrote('A', 'mine'), row({ status: 'skipped', remote: 'A', outputSha256: 'sha-A', bytes: 1 }), wrote('B', 'A')], 'mine'],
    ['removed, then set again over nothing: none', [wrote('A', 'mine'), row({ status: 'removed', remote: 'mine', previous: 'A' }), wrote('B')], null],
    ['the user changed it, then --overwrite-user-changes: still what they had before the tool', [wrote('A', 'mine'), wrote('B', 'later')], 'mine'],
    ['Zulip: a new photo over the tool\'s, `previous` naming a kept copy of it: still theirs', [wrote('7', 'default'), wrote('8', 'backup/abc.png')], 'default'],
    ['the start compacted away, recovered write: not known', [row({ status: 'ok', reason: 'recovered', remote: 'A', outputSha256: 'sha', bytes: 1 })], undefined],
    ['rolled back to an earlier run\'s avatar (its line copied): still theirs', [wrote('A', 'mine'), wrote('B', 'A'), { ...wrote('A', 'B'), reason: 'rollback' }], 'mine'],
  ];
  test.each(cases)('%s', (_name, lines, expected) => {
    const chain: Origin = { held: undefined, origin: undefined };
    for (const line of lines) follow(chain, line);
    expect(chain.origin).toEqual(expected);
  });
});

describe('the default --max-removals', () => {
  test.each([[0, 10], [100, 10], [200, 10], [219, 10], [220, 11], [1000, 50], [100_000, 5000]])('%i users known: %i', (known, cap) => {
    expect(defaultMaxRemovals(known)).toBe(cap);
  });
});
