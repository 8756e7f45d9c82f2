/**
 * The watch's probes, served beside /metrics (`hh-sync watch --metrics-port N`):
 *
 *   GET /healthz  200 while the process is alive and its event loop turns: a timer beats every `beatMs`; when the
 *                 last beat is older than `stallMs` the loop has been blocked that long (a runaway computation, a
 *                 synchronous read of a huge file) and the answer is 503 — a liveness probe restarts the pod.
 *   GET /readyz   200 when the ledger database answers, its schema passes the pre-flight check and this replica
 *                 knows its lease state (its lease connection is up and renewed in time); else 503 naming each
 *                 check that failed. A readiness probe takes the pod out of the Service meanwhile.
 *
 * Bodies are JSON: {"status":"ok"|"stalled"|"ready"|"not ready", "checks":[{"name","ok","reason"?}], …}. Reasons are
 * one line each and carry no connection string or SQL (errorText).
 */
import type { ServerResponse } from 'node:http';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { errorText } from '../sync/error-text.js';
import { redactUrlCredentials } from '../kube/redact.js';

export interface EventLoopWatchdogOptions {
  /** Time source of the beat timer and of the age check; tests inject one whose timers stop firing (a stall). */
  clock?: Clock;
  /** How often the beat timer fires. Default 1000 ms. */
  beatMs?: number;
  /** A last beat older than this means the loop is stalled. Default 10 000 ms. */
  stallMs?: number;
}

/** Detects a stalled event loop: a timer that should beat every `beatMs` has not for `stallMs`. */
export class EventLoopWatchdog {
  private readonly clock: Clock;
  private readonly beatMs: number;
  readonly stallMs: number;
  private lastBeat: number;
  private timer?: TimerHandle;

  constructor(options: EventLoopWatchdogOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.beatMs = options.beatMs ?? 1000;
    this.stallMs = options.stallMs ?? 10_000;
    if (this.stallMs <= this.beatMs)
      throw new Error(`stallMs (${this.stallMs}) must be longer than beatMs (${this.beatMs})`);
    this.lastBeat = this.clock.now();
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.lastBeat = this.clock.now();
    this.timer = this.clock.setInterval(() => (this.lastBeat = this.clock.now()), this.beatMs);
    // The beat must never be what keeps the process alive.
    (this.timer as { unref?: () => void } | undefined)?.unref?.();
  }

  stop(): void {
    if (this.timer === undefined) return;
    this.clock.clearInterval(this.timer);
    this.timer = undefined;
  }

  /** How long ago the last beat was, and whether that means a stall. */
  check(): { stalled: boolean; sinceBeatMs: number } {
    const sinceBeatMs = Math.max(0, this.clock.now() - this.lastBeat);
    return { stalled: sinceBeatMs > this.stallMs, sinceBeatMs };
  }
}

export interface ReadinessCheck {
  name: string;
  ok: boolean;
  reason?: string;
}

export interface ReadinessProbes {
  /** Resolves when the ledger database answers (`SELECT 1`). */
  database: () => Promise<void>;
  /** The pre-flight schema check; absent when the watch runs without it (then not part of readiness). */
  schemaHealthy?: () => Promise<{ healthy: boolean; reason?: string }>;
  /** True when this replica knows which fabrics it holds (lease connection up and renewed in time). */
  leaseStateKnown: () => boolean;
  /** How long each database check may take. Default 3000 ms. */
  timeoutMs?: number;
}

/** Runs the readiness checks; a database that does not answer skips the schema check (it cannot run). */
export async function checkReadiness(probes: ReadinessProbes): Promise<{ ready: boolean; checks: ReadinessCheck[] }> {
  const timeoutMs = probes.timeoutMs ?? 3000;
  const checks: ReadinessCheck[] = [];
  const db = await withTimeout(probes.database(), timeoutMs).then(
    () => ({ name: 'database', ok: true }),
    (err: unknown) => ({ name: 'database', ok: false, reason: `database unreachable: ${oneLine(err)}` }),
  );
  checks.push(db);
  if (probes.schemaHealthy) {
    if (!db.ok) checks.push({ name: 'schema', ok: false, reason: 'not checked: the database is unreachable' });
    else {
      const schema = await withTimeout(probes.schemaHealthy(), timeoutMs).then(
        (r) =>
          r.healthy
            ? { name: 'schema', ok: true }
            : { name: 'schema', ok: false, reason: r.reason ?? 'ledger schema unhealthy: run `hh-sync doctor`' },
        (err: unknown) => ({ name: 'schema', ok: false, reason: `schema check failed: ${oneLine(err)}` }),
      );
      checks.push(schema);
    }
  }
  const leaseKnown = probes.leaseStateKnown();
  checks.push(
    leaseKnown
      ? { name: 'lease', ok: true }
      : {
          name: 'lease',
          ok: false,
          reason: 'lease state unknown: the lease connection is down or has not renewed within the lease period',
        },
  );
  return { ready: checks.every((c) => c.ok), checks };
}

function oneLine(err: unknown): string {
  return redactUrlCredentials(errorText(err)).split('\n')[0]!;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** /healthz and /readyz of one watch. */
export class WatchHealth {
  constructor(
    readonly watchdog: EventLoopWatchdog,
    private readonly readiness: ReadinessProbes,
  ) {}

  healthz(): { code: number; body: object } {
    const { stalled, sinceBeatMs } = this.watchdog.check();
    return stalled
      ? {
          code: 503,
          body: {
            status: 'stalled',
            reason: `event loop stalled: no timer ran for ${sinceBeatMs} ms (limit ${this.watchdog.stallMs} ms)`,
          },
        }
      : { code: 200, body: { status: 'ok', sinceBeatMs } };
  }

  async readyz(): Promise<{ code: number; body: object }> {
    const { ready, checks } = await checkReadiness(this.readiness);
    return { code: ready ? 200 : 503, body: { status: ready ? 'ready' : 'not ready', checks } };
  }

  /** Answer one probe request. */
  async respond(path: '/healthz' | '/readyz', res: ServerResponse): Promise<void> {
    const answer = path === '/healthz' ? Promise.resolve(this.healthz()) : this.readyz();
    const { code, body } = await answer.catch((err: unknown) => ({
      code: 503,
      body: { status: 'error', reason: oneLine(err) },
    }));
    res.writeHead(code, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
  }
}
