// Every case of "what happens to this row on this target", as data: the facts known, and what
// decide() answers. A `need` answer means run() must find that fact out and ask again; the rows
// that end in `need` show the order in which facts are looked for (cheapest first).
import { decide } from '../../src/pipeline/decide.js';
import type { Decision, RowFacts } from '../../src/pipeline/decide.js';

const flags = { force: false, retryFailed: false, overwriteUserChanges: false, replaceExisting: false, guardsUserChanges: true };
const corrupt = { code: 'unsupported_image', message: 'not an image' };
const gone = { code: 'file_not_found', message: 'no such file' };
const failedCorrupt = { latest: { status: 'failed' as const, error: corrupt, heals: false } };
const failedGone = { latest: { status: 'failed' as const, error: gone, heals: true } };
const held = { held: { remote: 'mxc://ours', outputSha256: 'aaa' }, latest: { status: 'ok' as const, heals: true } };
const ours = { account: { current: 'mxc://ours' } };
const theirs = { account: { current: 'mxc://chosen-by-user' } };
const none = { account: {} };

const cases: [string, Partial<RowFacts>, Decision][] = [
  // Never seen before.
  ['new user: look the user up first', {}, { action: 'need', fact: 'account' }],
  ['new user with nothing set: write', { ...none }, { action: 'write' }],

  // First contact: never set by the tool here, but the user already has an avatar of their own.
  ['new user with an avatar of their own: protect', { account: { current: 'mxc://theirs' } }, { action: 'protect', reason: 'has_own_avatar' }],
  ['new user with an avatar of their own, --replace-existing: write', { account: { current: 'mxc://theirs' }, replaceExisting: true }, { action: 'write' }],
  ['new user with an avatar of their own, --force alone: still protected', { account: { current: 'mxc://theirs' }, force: true }, { action: 'protect', reason: 'has_own_avatar' }],
  ['new user with an avatar of their own, --overwrite-user-changes alone: still protected', { account: { current: 'mxc://theirs' }, overwriteUserChanges: true }, { action: 'protect', reason: 'has_own_avatar' }],
  ['a file the ledger does not know (dir, which guards no later change): protect', { account: { current: 'sha-of-their-file' }, guardsUserChanges: false }, { action: 'protect', reason: 'has_own_avatar' }],
  ['kept last time, the user has since removed it: write', { latest: { status: 'skipped', heals: true }, ...none }, { action: 'write' }],
  ['failed (corrupt) last time, source changed, an avatar of their own: protect', { ...failedCorrupt, latestSource: 'different', account: { current: 'mxc://theirs' } }, { action: 'protect', reason: 'has_own_avatar' }],

  // Failed last time for a reason that does not heal.
  ['failed (corrupt), source the same: carry the failure without asking the target', { ...failedCorrupt, latestSource: 'same' }, { action: 'carry-failure', error: corrupt }],
  ['failed (corrupt), size/mtime differ, hash known: hash the source', { ...failedCorrupt, latestSource: 'unknown' }, { action: 'need', fact: 'content' }],
  ['failed (corrupt), source changed: try again', { ...failedCorrupt, latestSource: 'different', ...none }, { action: 'write' }],
  ['failed (corrupt), --retry-failed: try again', { ...failedCorrupt, latestSource: 'same', retryFailed: true, ...none }, { action: 'write' }],
  ['failed (corrupt), --force: try again', { ...failedCorrupt, latestSource: 'same', force: true, ...none }, { action: 'write' }],
  ['failed (file not found, heals): try again every run', { ...failedGone, latestSource: 'same', ...none }, { action: 'write' }],

  // The tool set the avatar before.
  ['done: look the user up', { ...held, heldSource: 'same' }, { action: 'need', fact: 'account' }],
  ['done, still ours, same source: skip', { ...held, heldSource: 'same', ...ours }, { action: 'skip' }],
  ['done, still ours, size/mtime differ, hash known: hash the source', { ...held, heldSource: 'unknown', ...ours }, { action: 'need', fact: 'content' }],
  ['done, still ours, source changed: make the avatar to compare', { ...held, heldSource: 'different', ...ours }, { action: 'need', fact: 'output' }],
  ['done, still ours, new avatar byte-identical: skip', { ...held, heldSource: 'different', ...ours, outputSha256: 'aaa' }, { action: 'skip' }],
  ['done, still ours, new avatar differs: write', { ...held, heldSource: 'different', ...ours, outputSha256: 'bbb' }, { action: 'write' }],
  ['done, still ours, --force: write', { ...held, heldSource: 'same', ...ours, force: true }, { action: 'write' }],

  // The user changed it since.
  ['changed by the user: protect', { ...held, heldSource: 'same', ...theirs }, { action: 'protect', reason: 'changed_by_user' }],
  ['removed by the user: protect', { ...held, heldSource: 'same', ...none }, { action: 'protect', reason: 'changed_by_user' }],
  ['changed by the user, --force alone: still protected', { ...held, heldSource: 'same', ...theirs, force: true }, { action: 'protect', reason: 'changed_by_user' }],
  ['changed by the user, --overwrite-user-changes: write', { ...held, heldSource: 'same', ...theirs, overwriteUserChanges: true }, { action: 'write' }],
  ['changed on a target that does not guard (dir): write', { ...held, heldSource: 'same', ...theirs, guardsUserChanges: false }, { action: 'write' }],

  // --only-new (an onboarding wave).
  ['--only-new, done before: not_new without asking the target', { ...held, heldSource: 'same', onlyNew: true }, { action: 'protect', reason: 'not_new' }],
  ['--only-new, done before and failed since: still not new', { held: held.held, ...failedGone, onlyNew: true }, { action: 'protect', reason: 'not_new' }],
  ['--only-new, --force: still not new', { ...held, onlyNew: true, force: true }, { action: 'protect', reason: 'not_new' }],
  ['--only-new, never seen: look the user up', { onlyNew: true }, { action: 'need', fact: 'account' }],
  ['--only-new, only ever failed: as without it', { ...failedCorrupt, latestSource: 'same', onlyNew: true }, { action: 'carry-failure', error: corrupt }],

  // A leaver whose avatar --remove-missing removed (latest line `removed`, no held line), back in a later CSV: new again.
  ['removed as a leaver, back: look the user up', { latest: { status: 'removed', heals: true } }, { action: 'need', fact: 'account' }],
  ['removed as a leaver (avatar cleared), back: write', { latest: { status: 'removed', heals: true }, ...none }, { action: 'write' }],
  ['removed as a leaver (their own avatar set again), back: first contact, theirs kept', { latest: { status: 'removed', heals: true }, account: { current: 'mxc://theirs' } }, { action: 'protect', reason: 'has_own_avatar' }],
  ['removed as a leaver, back in an onboarding wave: new', { latest: { status: 'removed', heals: true }, onlyNew: true, ...none }, { action: 'write' }],

  // A write an earlier run began and whose row line a kill lost (a pending intent, issue 11).
  ['lost line, the target holds what the intent named, same source: the tool\'s own (recovered), not the user\'s',
    { ...held, heldSource: 'same', account: { current: 'mxc://new' }, intent: { landed: true, outputSha256: 'bbb' }, intentSource: 'same' }, { action: 'skip', recovered: true }],
  ['lost line, recognised, source changed since: make the avatar to compare',
    { ...held, heldSource: 'different', account: { current: 'mxc://new' }, intent: { landed: true, outputSha256: 'bbb' }, intentSource: 'different' }, { action: 'need', fact: 'output' }],
  ['lost line, recognised, new avatar byte-identical to the intent\'s: recovered',
    { ...held, heldSource: 'different', account: { current: 'mxc://new' }, intent: { landed: true, outputSha256: 'bbb' }, intentSource: 'different', outputSha256: 'bbb' }, { action: 'skip', recovered: true }],
  ['lost line, recognised, new avatar differs: write',
    { ...held, heldSource: 'different', account: { current: 'mxc://new' }, intent: { landed: true, outputSha256: 'bbb' }, intentSource: 'different', outputSha256: 'ccc' }, { action: 'write' }],
  ['lost line, first run ever (no held line), recognised: recovered',
    { account: { current: 'mxc://new' }, intent: { landed: true, outputSha256: 'bbb' }, intentSource: 'same' }, { action: 'skip', recovered: true }],
  ['intent that did not land, the target holds the tool\'s older avatar: as before (the held line decides)',
    { ...held, heldSource: 'different', ...ours, intent: { landed: false, outputSha256: 'bbb' }, intentSource: 'same', outputSha256: 'bbb' }, { action: 'write' }],
  ['intent that did not land, the user changed it: protect',
    { ...held, heldSource: 'same', ...theirs, intent: { landed: false, outputSha256: 'bbb' }, intentSource: 'same' }, { action: 'protect', reason: 'changed_by_user' }],
  ['lost line, recognised, --force: write',
    { ...held, heldSource: 'same', account: { current: 'mxc://new' }, intent: { landed: true, outputSha256: 'bbb' }, intentSource: 'same', force: true }, { action: 'write' }],
];

describe('decide(): one row on one target', () => {
  test.each(cases)('%s', (_name, facts, expected) => {
    expect(decide({ ...flags, ...facts })).toEqual(expected);
  });
});
