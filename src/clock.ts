/**
 * The one seam through which the watcher, the leases and the backoff read time and wait (like client-node's
 * `ListWatchOptions.delayFn`). Production code uses `systemClock`; tests inject a manual clock
 * (test/helpers/manual-clock.ts) so a relist delay, a lease period or a 35 s stall passes in microseconds instead of
 * real seconds, and a test waits on what it means ("the watcher is sleeping") rather than on a wall-clock bound.
 */

/** An opaque timer handle: whatever the clock's setTimeout/setInterval returned. */
export type TimerHandle = unknown;

export interface Clock {
  /** Epoch milliseconds (the clock's Date.now()). Only differences between two readings of one clock mean anything. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle): void;
}

/** Real time: Date.now and Node's timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout | undefined),
};
