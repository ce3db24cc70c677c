import { AvatarError, FatalError, RowError } from '../../src/errors.js';
import { DEFAULT_REQUEST_TIMEOUT_MS } from '../../src/net/deadline.js';
import { Pacer, type PacerOptions } from '../../src/net/pacer.js';
import { FakeClock } from './fake-clock.js';

const transient = () => new AvatarError('retry', 'server_error', 'HTTP 503');
const rateLimited = (ms: number) => new AvatarError('retry-after', 'rate_limited', 'HTTP 429', { retryAfterMs: ms });

function pacer(clock: FakeClock, options: Partial<PacerOptions> = {}): Pacer {
  return new Pacer({ name: 'test', concurrency: 4, retries: 3, clock, random: () => 0.999, ...options });
}

/** A call whose attempts are scripted: each entry is thrown, or returned when it is not an error. */
function scripted(clock: FakeClock, script: unknown[], starts: number[] = []) {
  let i = 0;
  return async () => {
    starts.push(clock.now());
    const step = script[Math.min(i++, script.length - 1)];
    if (step instanceof Error) throw step;
    return step;
  };
}

describe('pacer: transient failures', () => {
  test('a call that fails twice then succeeds returns the value after two backoffs', async () => {
    const clock = new FakeClock();
    const p = pacer(clock);
    const value = await clock.run(p.call(scripted(clock, [transient(), transient(), 'ok'])));
    expect(value).toBe('ok');
    expect(p.stats.attempts).toBe(3);
    expect(p.stats.retries).toBe(2);
  });

  test('retries are bounded: retries + 1 attempts, then the row fails as retries_exhausted', async () => {
    const clock = new FakeClock();
    const p = pacer(clock, { retries: 3 });
    const attempt = p.call(scripted(clock, [transient()]));
    await expect(clock.run(attempt)).rejects.toMatchObject({ kind: 'row', code: 'retries_exhausted' });
    expect(p.stats.attempts).toBe(4);
  });

  test('backoff is full jitter under a ceiling that doubles per retry', async () => {
    const clock = new FakeClock();
    const p = pacer(clock, { retries: 4, minBackoffMs: 100, maxBackoffMs: 500, random: () => 0.5 });
    await clock.run(p.call(scripted(clock, [transient()])).catch(() => undefined));
    expect(clock.sleeps).toEqual([50, 100, 200, 250]);
    // Each attempt had a deadline too: the ceiling, since the server has not answered yet.
    expect(clock.deadlines).toEqual(Array(5).fill(DEFAULT_REQUEST_TIMEOUT_MS));
  });

  test('a row error is handed back at once, never retried', async () => {
    const clock = new FakeClock();
    const p = pacer(clock);
    const fail = p.call(scripted(clock, [new RowError('user_not_found', 'no such user')]));
    await expect(clock.run(fail)).rejects.toMatchObject({ code: 'user_not_found' });
    expect(p.stats.attempts).toBe(1);
  });

  test('an ambiguous write is re-sent only when the caller says re-sending is harmless', async () => {
    const clock = new FakeClock();
    const p = pacer(clock);
    const unknown = () => new AvatarError('unknown', 'write_unknown', 'timed out after sending');
    await expect(clock.run(p.call(scripted(clock, [unknown()]), { idempotent: false }))).rejects.toMatchObject({ kind: 'unknown' });
    expect(p.stats.attempts).toBe(1);
    await expect(clock.run(p.call(scripted(clock, [unknown(), 'ok']), { idempotent: true }))).resolves.toBe('ok');
  });
});

describe('pacer: rate limits pause the whole target', () => {
  test('after one 429 no call of any worker starts before the time the server gave', async () => {
    const clock = new FakeClock();
    const p = pacer(clock);
    const starts: number[] = [];
    const first = p.call(scripted(clock, [rateLimited(2000), 'a'], starts));
    await clock.advance(100);
    const others = [p.call(scripted(clock, ['b'], starts)), p.call(scripted(clock, ['c'], starts))];
    await expect(clock.run(Promise.all([first, ...others]))).resolves.toEqual(['a', ['b', 'c']].flat());
    expect(starts[0]).toBe(0);
    expect(starts.slice(1).every((t) => t >= 2000)).toBe(true);
    expect(p.stats.rateLimited).toBe(1);
  });

  test('a 429 does not use up the retry budget, but a server that never lets go is bounded too', async () => {
    const clock = new FakeClock();
    const p = pacer(clock, { retries: 0, maxRateLimitWaits: 5 });
    await expect(clock.run(p.call(scripted(clock, [rateLimited(10), rateLimited(10), 'ok'])))).resolves.toBe('ok');
    await expect(clock.run(p.call(scripted(clock, [rateLimited(10)])))).rejects.toMatchObject({ code: 'retries_exhausted' });
  });

  test('a Retry-After beyond maxPauseMs is shortened', async () => {
    const clock = new FakeClock();
    const p = pacer(clock, { maxPauseMs: 60_000 });
    const starts: number[] = [];
    await clock.run(p.call(scripted(clock, [rateLimited(3_600_000), 'ok'], starts)));
    expect(starts).toEqual([0, 60_000]);
  });
});

describe('pacer: calls in flight (AIMD)', () => {
  /** Calls that stay in flight until the test releases them. */
  function gated(clock: FakeClock, p: Pacer, outcome: () => unknown) {
    const release: Array<() => void> = [];
    let inFlight = 0;
    let peak = 0;
    const fn = () => new Promise((resolve, reject) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      release.push(() => {
        inFlight--;
        const o = outcome();
        if (o instanceof Error) reject(o); else resolve(o);
      });
    });
    return { fn, release, peak: () => peak, call: () => p.call(fn) };
  }

  test('a burst of failures from calls sent together halves the window once, not once per call', async () => {
    const clock = new FakeClock();
    const p = pacer(clock, { concurrency: 8 });
    let fail = true;
    const g = gated(clock, p, () => (fail ? transient() : 'ok'));
    const calls = Array.from({ length: 8 }, () => g.call());
    await clock.settle();
    expect(g.peak()).toBe(8);
    g.release.splice(0).forEach((r) => r());
    await clock.settle();
    expect(p.stats.limit).toBe(4);
    expect(p.stats.decreases).toBe(1);
    fail = false;
    while (g.release.length > 0 || clock.pendingTimers > 0) {
      g.release.splice(0).forEach((r) => r());
      await clock.advance(1000);
    }
    await Promise.all(calls);
  });

  test('sustained congestion shrinks the window to 2 and healthy calls grow it back to the configured concurrency', async () => {
    const clock = new FakeClock();
    const p = pacer(clock, { concurrency: 8, retries: 10 });
    // One call failing again and again: each failure started after the previous decrease.
    await clock.run(p.call(scripted(clock, [transient()])).catch(() => undefined));
    expect(p.stats.decreases).toBe(2); // 8 → 4 → 2, never 1
    expect(p.stats.limit).toBe(2);
    const limits: number[] = [];
    for (let i = 0; i < 40; i++) {
      await clock.run(p.call(async () => 'ok'));
      limits.push(p.stats.limit);
    }
    expect(limits[0]).toBe(2); // +1 after a window (1) of successes
    expect(limits.at(-1)).toBe(8); // never above --concurrency
    expect(Math.max(...limits)).toBe(8);
  });

  test('the shrunken window is what bounds calls in flight', async () => {
    const clock = new FakeClock();
    const p = pacer(clock, { concurrency: 8, retries: 10 });
    await clock.run(p.call(scripted(clock, [transient(), transient(), 'ok'])));
    expect(p.stats.limit).toBe(2); // 8 → 4 → 2; one success is not yet a window of 2
    const g = gated(clock, p, () => 'ok');
    let done = 0;
    const calls = Array.from({ length: 6 }, () => g.call().then(() => done++));
    while (done < calls.length) {
      await clock.settle();
      g.release.splice(0).forEach((r) => r());
    }
    expect(g.peak()).toBeLessThanOrEqual(3); // 2, and 3 once two calls have succeeded
  });
});

describe('pacer: a request that gets no answer (issue 11, defect 3)', () => {
  /** An attempt the server never answers: it ends only if its signal is aborted. */
  function hanging(signals: AbortSignal[]) {
    return (signal: AbortSignal) => {
      signals.push(signal);
      return new Promise<never>(() => undefined);
    };
  }

  /** Attempts that answer after `ms` of (fake) time. */
  const answering = (clock: FakeClock, ms: number) => async () => {
    await clock.sleep(ms);
    return 'ok';
  };

  test('is abandoned at --request-timeout with its request aborted, and a read is sent again', async () => {
    const clock = new FakeClock();
    const p = pacer(clock, { requestTimeoutMs: 10_000 });
    const signals: AbortSignal[] = [];
    const hang = hanging(signals);
    let attempts = 0;
    const starts: number[] = [];
    const value = await clock.run(p.call((signal) => {
      starts.push(clock.now());
      return ++attempts === 1 ? hang(signal) : Promise.resolve('ok');
    }));
    expect(value).toBe('ok');
    expect(signals[0]!.aborted).toBe(true);
    expect(starts[1]).toBeGreaterThanOrEqual(10_000);
    expect(starts[1]).toBeLessThan(10_000 + 250); // + one backoff
    expect(p.stats.timeouts).toBe(1);
  });

  test('a write that gets no answer is unknown: handed back to be read back, not re-sent', async () => {
    const clock = new FakeClock();
    const p = pacer(clock, { requestTimeoutMs: 10_000 });
    const write = p.call(hanging([]), { idempotent: false, what: 'set the avatar of @ana:x' });
    await expect(clock.run(write)).rejects.toMatchObject({ kind: 'unknown', code: 'timeout', message: expect.stringContaining('set the avatar of @ana:x: no answer within 10.0 s') });
    expect(p.stats.attempts).toBe(1);
  });

  // retries: 0, so that a read given up at its deadline ends the call right there.
  test('once the server has answered a few times, the deadline follows its latency, not the ceiling', async () => {
    const clock = new FakeClock();
    const p = pacer(clock, { requestTimeoutMs: 90_000, retries: 0 });
    for (let i = 0; i < 8; i++) await clock.run(p.call(answering(clock, 100), { kind: 'GET' }));
    const started = clock.now();
    await expect(clock.run(p.call(hanging([]), { kind: 'GET' }))).rejects.toMatchObject({ code: 'retries_exhausted', message: expect.stringContaining('no answer within 2.0 s') });
    expect(clock.now() - started).toBe(2_000); // the floor: 100 ms answers are far below it
    // Another kind of call has shown nothing yet: it still gets the ceiling.
    const upload = clock.now();
    await expect(clock.run(p.call(hanging([]), { kind: 'POST' }))).rejects.toMatchObject({ code: 'retries_exhausted' });
    expect(clock.now() - upload).toBe(90_000);
  });

  test('a slow server is followed: the deadline grows with the latency it shows', async () => {
    const clock = new FakeClock();
    const p = pacer(clock, { requestTimeoutMs: 90_000, retries: 0 });
    for (let i = 0; i < 8; i++) await clock.run(p.call(answering(clock, i % 2 === 0 ? 1_000 : 3_000), { kind: 'PUT' }));
    const started = clock.now();
    await expect(clock.run(p.call(hanging([]), { kind: 'PUT' }))).rejects.toMatchObject({ code: 'retries_exhausted' });
    const deadline = clock.now() - started;
    expect(deadline).toBeGreaterThan(3_000 * 2);
    expect(deadline).toBeLessThan(90_000);
  });

  test('each time out doubles the next deadline of that kind, until an answer comes back', async () => {
    const clock = new FakeClock();
    const p = pacer(clock, { requestTimeoutMs: 60_000, retries: 0 });
    for (let i = 0; i < 8; i++) await clock.run(p.call(answering(clock, 10), { kind: 'GET' }));
    const deadlines: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = clock.now();
      await clock.run(p.call(hanging([]), { kind: 'GET' })).catch(() => undefined);
      deadlines.push(clock.now() - started);
    }
    await clock.run(p.call(answering(clock, 10), { kind: 'GET' }));
    const started = clock.now();
    await clock.run(p.call(hanging([]), { kind: 'GET' })).catch(() => undefined);
    expect([...deadlines, clock.now() - started]).toEqual([2_000, 4_000, 8_000, 2_000]);
  });

  test('a write that may not be re-sent runs on to --request-timeout, but past its learnt deadline it gives its slot back', async () => {
    const clock = new FakeClock();
    const p = pacer(clock, { concurrency: 1, requestTimeoutMs: 60_000 });
    for (let i = 0; i < 8; i++) await clock.run(p.call(answering(clock, 10), { kind: 'PUT' }));
    const signals: AbortSignal[] = [];
    const start = clock.now();
    const write = p.call(hanging(signals), { kind: 'PUT', idempotent: false }).catch((e: unknown) => e);
    const starts: number[] = [];
    const next = p.call(async () => starts.push(clock.now() - start));
    await clock.advance(2_000);
    await next;
    // The only slot was free again at the write's learnt deadline; the write itself went on.
    expect(starts).toEqual([2_000]);
    expect(signals[0]!.aborted).toBe(false);
    expect(p.stats.slowReleased).toBe(1);
    await clock.advance(58_000);
    await expect(write).resolves.toMatchObject({ kind: 'unknown', code: 'timeout', message: expect.stringContaining('no answer within 60.0 s') });
    expect(signals[0]!.aborted).toBe(true);
  });

  test('does not stall the others: after sustained failures two calls are still in flight, so the next row passes a hung one', async () => {
    const clock = new FakeClock();
    const p = pacer(clock, { concurrency: 8, retries: 10, requestTimeoutMs: 90_000 });
    await clock.run(p.call(scripted(clock, [transient(), transient(), transient(), transient(), 'ok'])));
    const hung = p.call(hanging([]), { idempotent: false }).catch((e: unknown) => e);
    await clock.settle();
    const next = p.call(async () => 'next row');
    await clock.settle();
    // Answered before any time passed: the hung call does not hold the only slot.
    await expect(Promise.race([next, new Promise((resolve) => setImmediate(() => resolve('still waiting')))])).resolves.toBe('next row');
    await clock.run(hung);
  });

  test('a late answer after the deadline is dropped, and the slot it held is free again at once', async () => {
    const clock = new FakeClock();
    const p = pacer(clock, { concurrency: 1, retries: 0, requestTimeoutMs: 5_000 });
    let answer: (value: string) => void = () => undefined;
    const deaf = () => new Promise<string>((resolve) => (answer = resolve)); // ignores its signal
    const first = p.call(deaf).catch((e: unknown) => e);
    await clock.advance(5_000);
    await expect(first).resolves.toMatchObject({ code: 'retries_exhausted' });
    await expect(clock.run(p.call(async () => 'second'))).resolves.toBe('second');
    answer('too late');
    expect(p.stats.inFlight).toBe(0);
  });
});

describe('pacer: --max-rate', () => {
  test('spaces request starts by 1/maxRate across all workers', async () => {
    const clock = new FakeClock();
    const p = pacer(clock, { concurrency: 5, maxRate: 10 });
    const starts: number[] = [];
    await clock.run(Promise.all(Array.from({ length: 5 }, () => p.call(scripted(clock, ['ok'], starts)))));
    expect(starts).toEqual([0, 100, 200, 300, 400]);
  });

  test('timers that fire late do not lower the rate: starts keep to the schedule', async () => {
    const clock = new FakeClock();
    clock.lateBy = 30;
    const p = pacer(clock, { concurrency: 11, maxRate: 10 });
    const starts: number[] = [];
    await clock.run(Promise.all(Array.from({ length: 11 }, () => p.call(scripted(clock, ['ok'], starts)))));
    expect(starts.at(-1)).toBeLessThanOrEqual(1000 + 30); // not 10 × 130
  });

  test('after an idle spell the schedule restarts instead of allowing a saved-up burst', async () => {
    const clock = new FakeClock();
    const p = pacer(clock, { concurrency: 3, maxRate: 10 });
    const starts: number[] = [];
    await clock.run(p.call(scripted(clock, ['ok'], starts)));
    await clock.advance(5_000);
    await clock.run(Promise.all(Array.from({ length: 3 }, () => p.call(scripted(clock, ['ok'], starts)))));
    expect(starts).toEqual([0, 5000, 5100, 5200]);
  });
});

describe('pacer: stopping', () => {
  test('a fatal error fails every waiting and future call with that same error', async () => {
    const clock = new FakeClock();
    const p = pacer(clock, { concurrency: 1 });
    const fatal = new FatalError('token_refused', 'the token was refused');
    const waiting: Promise<unknown>[] = [];
    const first = p.call(async () => {
      const failure = (e: unknown) => e;
      waiting.push(p.call(async () => 'never').catch(failure), p.call(async () => 'never').catch(failure));
      throw fatal;
    });
    await expect(clock.run(first)).rejects.toBe(fatal);
    expect(await Promise.all(waiting)).toEqual([fatal, fatal]);
    await expect(p.call(async () => 'later')).rejects.toBe(fatal);
    expect(p.signal.aborted).toBe(true);
  });

  test('stopping wakes a call sleeping through a pause instead of leaving it waiting', async () => {
    const clock = new FakeClock();
    const p = pacer(clock);
    const paused = p.call(scripted(clock, [rateLimited(60_000), 'ok']));
    await clock.advance(10);
    const fatal = new FatalError('not_admin', 'not a server admin');
    p.stop(fatal);
    await expect(paused).rejects.toBe(fatal);
  });

  test("the caller's AbortSignal stops the pacer", async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    const p = pacer(clock, { signal: controller.signal });
    const pending = p.call(scripted(clock, [transient(), 'ok']));
    await clock.settle();
    controller.abort(new Error('interrupted'));
    await expect(pending).rejects.toThrow('interrupted');
  });
});
