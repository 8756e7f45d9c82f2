/**
 * The injected clock (src/clock.ts): backoff sleeps wait on it, and the manual clock the tests drive fires timers in
 * due order, only when moved.
 */
import { sleep } from '../src/kube/backoff.js';
import { systemClock } from '../src/clock.js';
import { ManualClock } from './helpers/manual-clock.js';

test('a sleep on the manual clock ends when the clock has moved its length, not before', async () => {
  const clock = new ManualClock();
  let done = false;
  const slept = sleep(1000, undefined, clock).then(() => (done = true));
  expect(await clock.whenTimer()).toBe(1000);
  clock.advance(999);
  await Promise.resolve();
  expect(done).toBe(false);
  clock.advance(1);
  await slept;
  expect(done).toBe(true);
  expect(clock.pendingDelays()).toEqual([]);
});

test('an aborted sleep rejects with AbortError and leaves no timer on the clock', async () => {
  const clock = new ManualClock();
  const ac = new AbortController();
  const slept = sleep(5000, ac.signal, clock);
  expect(clock.pendingDelays()).toEqual([5000]);
  ac.abort();
  await expect(slept).rejects.toMatchObject({ name: 'AbortError' });
  expect(clock.pendingDelays()).toEqual([]);
});

test('timers fire in due order, intervals as often as they fall due, cleared ones never', () => {
  const clock = new ManualClock(0);
  const fired: string[] = [];
  clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
  clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
  const cleared = clock.setTimeout(() => fired.push('cleared'), 5);
  clock.clearTimeout(cleared);
  const every = clock.setInterval(() => fired.push(`i@${clock.now()}`), 8);
  clock.advance(25);
  clock.clearInterval(every);
  clock.advance(100);
  expect(fired).toEqual(['i@8', 'a@10', 'i@16', 'b@20', 'i@24']);
  expect(clock.now()).toBe(125);
});

test('fireNext jumps to the earliest matching timer', () => {
  const clock = new ManualClock(0);
  const fired: number[] = [];
  clock.setTimeout(() => fired.push(30_000), 30_000);
  clock.setTimeout(() => fired.push(75), 75);
  expect(clock.fireNext((ms) => ms === 30_000)).toBe(true);
  expect(fired).toEqual([75, 30_000]);
  expect(clock.fireNext()).toBe(false);
});

test('the system clock is real time', async () => {
  const t0 = systemClock.now();
  await sleep(20, undefined, systemClock);
  expect(systemClock.now() - t0).toBeGreaterThanOrEqual(15);
});
