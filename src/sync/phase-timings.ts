/**
 * Wall-clock time per phase of a sync run, reported in the run's details (`details.timingsMs`) so an
 * operator (and `npm run bench`) can tell a slow cluster from a slow database without a profiler.
 * Phases interleave (list a kind, write it, list the next), so each phase's time is a sum.
 */
export type SyncPhase = 'discover' | 'list' | 'read' | 'write';

export class PhaseTimer {
  private readonly started = performance.now();
  private readonly ms = new Map<SyncPhase, number>();

  /** Runs `fn`, adding its duration to `phase` (also when it throws). */
  async time<T>(phase: SyncPhase, fn: () => Promise<T>): Promise<T> {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      this.ms.set(phase, (this.ms.get(phase) ?? 0) + performance.now() - t);
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
