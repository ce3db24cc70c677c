import type { EndLine, RowLine, RunLine } from '../../../src/ledger/lines.js';
import { TARGET, failedRow, okRow } from '../support.js';

// A small ledger with the shapes the tools must tell apart: three runs on one target, a second
// target, users that healed, users failing now, row problems old and new, and an end line.

export const OTHER = 'matrix:https://matrix.example.org';

export function run(id: string, started: string, target = TARGET): RunLine {
  return { type: 'run', run: id, version: '0.1.0', started, options: { target, csv: '/srv/hr/people.csv' } };
}

export function end(id: string, exit: number, counts: Record<string, number>): EndLine {
  return { type: 'end', run: id, ended: '2026-11-03T02:10:00.000Z', exit, counts };
}

const at = (day: number, n: number): string => `2026-11-0${day}T02:00:${String(n).padStart(2, '0')}.000Z`;

export function history(): (RunLine | RowLine | EndLine)[] {
  return [
    run('r1', at(1, 0)),
    okRow('ana', 1, { run: 'r1', ts: at(1, 1), previous: 'old-ana' }),
    okRow('bo', 2, { run: 'r1', ts: at(1, 2) }),
    failedRow('cy', 3, { run: 'r1', ts: at(1, 3) }),
    failedRow('', 4, { run: 'r1', ts: at(1, 4), error: { code: 'missing_value', message: 'the user_id cell is empty' } }),
    okRow('dee', 5, { run: 'r1', ts: at(1, 5) }),
    end('r1', 1, { ok: 3, failed: 2 }),

    run('r2', at(2, 0)),
    { ...okRow('ana', 1, { run: 'r2', ts: at(2, 1) }), status: 'skipped' },
    failedRow('bo', 2, { run: 'r2', ts: at(2, 2), error: { code: 'unsupported_image', message: 'not an image' } }),
    okRow('cy', 3, { run: 'r2', ts: at(2, 3), previous: 'old-cy' }),
    { ...okRow('dee', 5, { run: 'r2', ts: at(2, 4) }), status: 'skipped', reason: 'changed_by_user', remote: undefined } as RowLine,
    failedRow('=HYPERLINK("http://x")', 6, { run: 'r2', ts: at(2, 5), error: { code: 'user_not_found', message: '-no such user, "really"', retryable: true } }),
    failedRow('ana', 7, { run: 'r2', ts: at(2, 6), error: { code: 'duplicate_user', message: 'ana already appears on row 1' } }),
    failedRow('', 8, { run: 'r2', ts: at(2, 7), error: { code: 'malformed_record', message: 'wrong column count' } }),
    // r2 was killed: no end line.

    run('m1', at(3, 0), OTHER),
    okRow('@ana:example.org', 1, { run: 'm1', ts: at(3, 1), target: OTHER, previous: 'mxc://old' }),
    failedRow('@bo:example.org', 2, { run: 'm1', ts: at(3, 2), target: OTHER, error: { code: 'user_not_found', message: 'no such user', retryable: true } }),
    end('m1', 1, { ok: 1, failed: 1 }),
  ];
}
