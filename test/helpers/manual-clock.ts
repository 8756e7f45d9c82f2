/**
 * A Clock (src/clock.ts) that moves only when the test says so. Timers fire in due order inside advance(); I/O
 * stays real. A test waits for what it means — "something is sleeping 30 s on this clock" (whenTimer) — then moves
 * time past it, instead of sleeping real time and hoping the code got there.
 */
import type { Clock, TimerHandle } from '../../src/clock.js';

interface Timer {
  id: number;
  at: number;
  ms: number;
  fn: () => void;
  /** Set for intervals: the period. */
  every?: number;
}

export class ManualClock implements Clock {
  private t: number;
  private nextId = 1;
  private readonly timers = new Map<number, Timer>();
  private readonly waiters: { match: (ms: number) => boolean; resolve: (ms: number) => void }[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms);
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as number);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, Math.max(1, ms));
  }

  clearInterval(handle: TimerHandle): void {
    this.timers.delete(handle as number);
  }

  /** Delays (ms, as asked) of the timers pending now. */
  pendingDelays(): number[] {
    return [...this.timers.values()].map((t) => t.ms);
  }

  /**
   * Resolves (with its delay) when a timer whose delay matches is pending — at once if one already is. Bounded by
   * the test's own timeout: a timer that never comes fails the test there, never silently.
   */
  whenTimer(match: (ms: number) => boolean = () => true): Promise<number> {
    const existing = [...this.timers.values()].find((t) => match(t.ms));
    if (existing) return Promise.resolve(existing.ms);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  /** Move time forward by `ms`, firing every timer that falls due, in order (intervals as often as they fall due). */
  advance(ms: number): void {
    const until = this.t + ms;
    for (;;) {
      const due = [...this.timers.values()].filter((t) => t.at <= until).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.t = Math.max(this.t, due.at);
      if (due.every) due.at += due.every;
      else this.timers.delete(due.id);
      due.fn();
    }
    this.t = until;
  }

  /** Jump to the earliest pending timer whose delay matches and fire what falls due up to it; false when none. */
  fireNext(match: (ms: number) => boolean = () => true): boolean {
    const next = [...this.timers.values()].filter((t) => match(t.ms)).sort((a, b) => a.at - b.at || a.id - b.id)[0];
    if (!next) return false;
    this.advance(Math.max(0, next.at - this.t));
    return true;
  }

  private add(fn: () => void, ms: number, every?: number): number {
    const delay = Math.max(0, ms);
    const timer: Timer = { id: this.nextId++, at: this.t + delay, ms: delay, fn, every };
    this.timers.set(timer.id, timer);
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (w.match(delay)) {
        this.waiters.splice(i, 1);
        w.resolve(delay);
      }
    }
    return timer.id;
  }
}
