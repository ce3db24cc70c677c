import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lastRun, readLedger, runCli, tempDir } from '../support/cli.js';
import { writePeople } from '../support/photos.js';
import type { Person } from '../support/photos.js';

// An import is one event in a longer life: new hires arrive in waves from the full HR export,
// people leave, a bad batch is undone.

const person = (i: number, seed = i): Person => ({ id: `user${i}`, image: `photos/p${i}-${seed}.jpg`, seed });

describe('onboarding: --only-new', () => {
  test('a wave from the full export sets only the users the ledger has never seen ok; the others are not_new, untouched', async () => {
    const dir = await tempDir();
    const out = join(dir, 'avatars');
    const args = (csv: string) => [csv, '--out', out, '--progress', 'off'];
    // The first wave: user0 and user1 done, user2's photo missing (failed, so never done).
    const first = await writePeople(dir, [person(0), person(1), { id: 'user2', image: 'photos/missing.jpg' }]);
    expect((await runCli(args(first))).code).toBe(1);
    const before = await readFile(join(out, 'user0.jpg'));

    // The full export a month later: user0 has a new photo, user2's is there now, user3 is new.
    const full = await writePeople(dir, [person(0, 50), person(1), person(2), person(3)]);
    const wave = await runCli([...args(full), '--only-new']);

    expect(wave.code).toBe(0);
    const lines = lastRun(await readLedger(join(dir, 'people.ledger.jsonl')));
    const outcome = Object.fromEntries(lines.map((line) => [line.user, `${line.status}${line.reason ? `/${line.reason}` : ''}`]));
    expect(outcome).toEqual({ user0: 'skipped/not_new', user1: 'skipped/not_new', user2: 'ok', user3: 'ok' });
    // user0's new photo waits for a run without --only-new.
    expect(await readFile(join(out, 'user0.jpg'))).toEqual(before);

    // The next ordinary run sees user0's change, as if --only-new had never happened.
    await runCli(args(full));
    const next = lastRun(await readLedger(join(dir, 'people.ledger.jsonl')));
    expect(next.find((line) => line.user === 'user0')!.status).toBe('ok');
    expect(next.filter((line) => line.user !== 'user0').every((line) => line.status === 'skipped')).toBe(true);
  });
});
