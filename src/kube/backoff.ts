/**
 * Small, explicit backoff helpers shared by the cluster reader (bounded list retries) and the
 * resource watcher (unbounded watch restarts). Kept here rather than in p-retry because both
 * callers need things p-retry makes awkward: a server-chosen delay (`Retry-After`) that replaces
 * the computed one, and sleeps that a stop()/AbortSignal cancels without leaving a timer behind.
 */
import { systemClock, type Clock } from '../clock.js';

export interface BackoffPolicy {
  /** Delay of the first retry, before jitter. */
  baseMs: number;
  /** Ceiling of any computed delay, before jitter. */
  maxMs: number;
}

/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half random, so many clients
 * that failed together spread out but none retries immediately. `attempt` counts from 0.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(exp / 2 + random() * (exp / 2));
}

/**
 * The delay a `Retry-After` header asks for, in milliseconds: either delta-seconds ("3") or an
 * HTTP-date. Undefined when absent or unparseable (the caller then uses its own backoff).
 */
export function parseRetryAfter(
  value: string | string[] | undefined | null,
  now: number = Date.now(),
): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v === null) return undefined;
  const s = v.trim();
  if (s === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const at = Date.parse(s);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** The error a cancelled sleep rejects with; `name` matches DOM AbortError so callers can test one thing. */
export class AbortedError extends Error {
  override name = 'AbortError';
  constructor(message = 'aborted') {
    super(message);
  }
}

/**
 * Wait `ms` on `clock`, or reject with AbortedError as soon as `signal` aborts. The timer is always cleared,
 * so an aborted sleep leaves no handle that would keep the process (or a Jest worker) alive.
 */
export function sleep(ms: number, signal?: AbortSignal, clock: Clock = systemClock): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortedError());
      return;
    }
    const onAbort = () => {
      clock.clearTimeout(timer);
      reject(new AbortedError());
    };
    const timer = clock.setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
