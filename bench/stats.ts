import { readFileSync } from 'node:fs';

/** Small numeric helpers shared by the benchmark modules. */

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The element whose `by` is the median (odd counts) or the lower middle one: keeps a run's splits together. */
export function medianBy<T>(xs: readonly T[], by: (x: T) => number): T {
  const s = [...xs].sort((a, b) => by(a) - by(b));
  return s[(s.length - 1) >> 1]!;
}

export const round1 = (x: number) => Math.round(x * 10) / 10;
export const round2 = (x: number) => Math.round(x * 100) / 100;

/**
 * A figure of another process's /proc/<pid>/status, in MB (0 once it is gone). The embedded database runs in a
 * process of its own (src/db/pglite-server-child.ts): its memory is the measured work's, so the figures below add it.
 */
function procStatusMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Peak resident set size so far (the kernel's high-water marks) of this process plus `also`'s, in MB. */
export function peakRssMb(also: readonly number[] = []): number {
  return round1(process.resourceUsage().maxRSS / 1024 + also.reduce((mb, pid) => mb + procStatusMb(pid, 'VmHWM'), 0));
}

/** The high-water mark of another process's resident set (the embedded database's), in MB; 0 once it is gone. */
export function otherProcessPeakMb(pid: number): number {
  return round1(procStatusMb(pid, 'VmHWM'));
}

/** Resident set size now of this process plus `also`'s (the embedded database's process), in MB. */
export function rssMb(also: readonly number[] = []): number {
  return round1(process.memoryUsage.rss() / 2 ** 20 + also.reduce((mb, pid) => mb + procStatusMb(pid, 'VmRSS'), 0));
}

/**
 * The highest RSS seen while the functions given to `during` run, sampled every `everyMs`. Unlike the
 * process's high-water mark, it is not raised by what happened before (an embedded database's start).
 */
export class RssSampler {
  peakMb = 0;

  /** `also`: other processes whose RSS is added to this one's in each sample (the embedded database's). */
  constructor(
    private readonly also: readonly number[] = [],
    private readonly everyMs = 20,
  ) {}

  async during<T>(fn: () => Promise<T>): Promise<T> {
    const sample = () => {
      this.peakMb = Math.max(this.peakMb, rssMb(this.also));
    };
    sample();
    const timer = setInterval(sample, this.everyMs);
    try {
      return await fn();
    } finally {
      clearInterval(timer);
      sample();
    }
  }
}

/** Collect garbage first when the process runs with --expose-gc, so one measurement does not pay for the last one's. */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  collectGarbage();
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}
