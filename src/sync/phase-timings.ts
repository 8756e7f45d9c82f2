/**
 * Wall-clock time per phase of a sync run, reported in the run's details (`details.timingsMs`) so an
 * operator (and `npm run bench`) can tell a slow cluster from a slow database without a profiler.
 * Phases interleave (list a kind, write it, list the next), so each phase's time is a sum. A phase timed inside
 * another (a large kind's pages written while it is listed: src/sync/streamed-kind.ts) counts for itself only: its
 * time is taken out of the enclosing phase's.
 */
export type SyncPhase = 'discover' | 'list' | 'read' | 'write';

export class PhaseTimer {
  private readonly started = performance.now();
  private readonly ms = new Map<SyncPhase, number>();
  /** The timings running now, innermost last; each sums the time of the timings started inside it. */
  private readonly open: { inner: number }[] = [];

  /** Runs `fn`, adding its duration to `phase` (also when it throws), less that of the phases timed inside it. */
  async time<T>(phase: SyncPhase, fn: () => Promise<T>): Promise<T> {
    const enclosing = this.open.at(-1);
    const frame = { inner: 0 };
    this.open.push(frame);
    const t = performance.now();
    try {
      return await fn();
    } finally {
      const ms = performance.now() - t;
      this.open.splice(this.open.indexOf(frame), 1);
      if (enclosing) enclosing.inner += ms;
      this.ms.set(phase, (this.ms.get(phase) ?? 0) + ms - frame.inner);
    }
  }

  /** Milliseconds (0.1 ms resolution) per phase that ran, plus `total` since the timer was made. */
  toJSON(): Partial<Record<SyncPhase | 'total', number>> {
    const out: Partial<Record<SyncPhase | 'total', number>> = {};
    for (const [phase, ms] of this.ms) out[phase] = round(ms);
    out.total = round(performance.now() - this.started);
    return out;
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;
