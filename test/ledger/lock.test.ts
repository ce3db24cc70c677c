import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

import { UsageError } from '../../src/errors.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { TARGET, okRow, startChild, withTempDir, type Child } from './support.js';

const children = new Set<Child>();
function child(name: string, args: string[]): Child {
  const started = startChild(name, args);
  children.add(started);
  void started.exited.then(() => children.delete(started));
  return started;
}
afterEach(async () => {
  for (const running of children) running.process.kill('SIGKILL');
  await Promise.all([...children].map((running) => running.exited));
});

/** Start hold-lock children, and once all have loaded, tell them all to open at once. */
async function holders(path: string, count: number): Promise<Child[]> {
  const started = Array.from({ length: count }, () => child('hold-lock', [path]));
  for (const holder of started) expect(await holder.line()).toBe('started');
  for (const holder of started) holder.process.stdin!.write('open\n');
  return started;
}

/** The pid of a process that has exited: nothing answers to it any more. */
async function deadPid(): Promise<number> {
  const gone = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => gone.on('exit', resolve));
  return gone.pid!;
}

describe('ledger lock', () => {
  test('a second opener is refused with the holder’s pid and the lock path', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      const first = await Ledger.open(path, {});
      const second = Ledger.open(path, {});
      await expect(second).rejects.toBeInstanceOf(UsageError);
      await expect(second).rejects.toThrow(`process ${process.pid}`);
      await expect(second).rejects.toThrow(`${path}.lock`);
      await first.close();
    }));

  test('close releases the lock: the file is gone and the next run opens', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      const first = await Ledger.open(path, {});
      const owner = JSON.parse(await readFile(`${path}.lock`, 'utf8')) as { pid: number; host: string; started: string };
      expect(owner).toEqual({ pid: process.pid, host: hostname(), started: expect.any(String) });
      await first.close();
      expect(existsSync(`${path}.lock`)).toBe(false);
      await (await Ledger.open(path, {})).close();
    }));

  test('a ledger held by another live process is refused until that process closes it', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      const [holder] = await holders(path, 1);
      expect(await holder!.line()).toBe('locked');

      const opening = Ledger.open(path, {});
      await expect(opening).rejects.toBeInstanceOf(UsageError);
      await expect(opening).rejects.toThrow(`process ${holder!.pid}`);

      holder!.process.stdin!.end();
      expect((await holder!.exited).code).toBe(0);
      await (await Ledger.open(path, {})).close();
    }));

  test('a lock left by a process that died is taken over', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      const pid = await deadPid();
      await writeFile(`${path}.lock`, JSON.stringify({ pid, host: hostname(), started: '2025-01-01T00:00:00.000Z' }));
      const ledger = await Ledger.open(path, {});
      await ledger.append(okRow('ana', 1));
      expect(JSON.parse(await readFile(`${path}.lock`, 'utf8'))).toMatchObject({ pid: process.pid });
      await ledger.close();
    }));

  test('when several processes find the same stale lock, exactly one takes it over', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      await writeFile(`${path}.lock`, JSON.stringify({ pid: await deadPid(), host: hostname(), started: '2025-01-01T00:00:00.000Z' }));
      const racers = await holders(path, 4);
      const answers = await Promise.all(racers.map((racer) => racer.line()));
      expect(answers.filter((answer) => answer === 'locked')).toHaveLength(1);
      for (const answer of answers) if (answer !== 'locked') expect(answer).toMatch(/^refused /);
      for (const racer of racers) racer.process.stdin!.end();
      await Promise.all(racers.map((racer) => racer.exited));
      // Neither the lock nor any takeover claim is left behind.
      expect(await readdir(dir)).toEqual(['l.jsonl']);
    }));

  test('a lock from another host is not judged by pid: it is refused', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      await writeFile(`${path}.lock`, JSON.stringify({ pid: await deadPid(), host: `not-${hostname()}`, started: '2025-01-01T00:00:00.000Z' }));
      await expect(Ledger.open(path, {})).rejects.toThrow(`on not-${hostname()}`);
    }));

  test('a lock that does not say who holds it is refused with what to do', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      await writeFile(`${path}.lock`, '');
      const opening = Ledger.open(path, {});
      await expect(opening).rejects.toBeInstanceOf(UsageError);
      await expect(opening).rejects.toThrow(/delete the lock file/);
    }));

  test('a dry run needs no lock, even while a run holds it', () =>
    withTempDir(async (dir) => {
      const path = join(dir, 'l.jsonl');
      const [holder] = await holders(path, 1);
      expect(await holder!.line()).toBe('locked');
      const reader = await Ledger.open(path, { readOnly: true });
      expect(await reader.lookup(TARGET, 'ana')).toEqual({});
      await reader.close();
    }));
});
