/**
 * /healthz and /readyz of the watch, without a watch: the event-loop watchdog on injected clocks (a stalled loop is
 * a clock whose timers stop firing while time goes on — no sleeping), and the readiness checks with each dependency
 * failing in turn, served over HTTP by WatchMetrics.listen as the watch serves them.
 */
import type { Clock, TimerHandle } from '../src/clock.js';
import { EventLoopWatchdog, WatchHealth, checkReadiness, type ReadinessProbes } from '../src/watch/health.js';
import { WatchMetrics } from '../src/watch/metrics.js';
import { ManualClock } from './helpers/manual-clock.js';

/** A clock whose timers never fire on their own: what a blocked event loop looks like to a timer. */
class BlockedLoopClock implements Clock {
  t = 1_000_000;
  readonly intervals: (() => void)[] = [];
  now(): number {
    return this.t;
  }
  setTimeout(): TimerHandle {
    return undefined;
  }
  clearTimeout(): void {}
  setInterval(fn: () => void): TimerHandle {
    this.intervals.push(fn);
    return this.intervals.length;
  }
  clearInterval(): void {}
  /** The loop turns again: the pending beat runs. */
  unblock(): void {
    for (const fn of this.intervals) fn();
  }
}

const healthy: ReadinessProbes = {
  database: () => Promise.resolve(),
  schemaHealthy: () => Promise.resolve({ healthy: true }),
  leaseStateKnown: () => true,
};

describe('event-loop watchdog (/healthz)', () => {
  test('time passing with the beat firing is healthy, however long', () => {
    const clock = new ManualClock();
    const dog = new EventLoopWatchdog({ clock, beatMs: 1000, stallMs: 5000 });
    dog.start();
    clock.advance(60_000);
    expect(dog.check()).toEqual({ stalled: false, sinceBeatMs: 0 });
    dog.stop();
    expect(clock.pendingDelays()).toEqual([]);
  });

  test('no beat for longer than stallMs is a stall (503); the loop turning again clears it', () => {
    const clock = new BlockedLoopClock();
    const dog = new EventLoopWatchdog({ clock, beatMs: 1000, stallMs: 5000 });
    dog.start();
    const health = new WatchHealth(dog, healthy);
    clock.t += 5000;
    expect(health.healthz().code).toBe(200); // at the limit, not past it
    clock.t += 1;
    expect(health.healthz()).toEqual({
      code: 503,
      body: { status: 'stalled', reason: 'event loop stalled: no timer ran for 5001 ms (limit 5000 ms)' },
    });
    clock.unblock();
    expect(health.healthz()).toEqual({ code: 200, body: { status: 'ok', sinceBeatMs: 0 } });
  });

  test('a stall limit not longer than the beat is refused', () => {
    expect(() => new EventLoopWatchdog({ beatMs: 1000, stallMs: 1000 })).toThrow(/stallMs \(1000\) must be longer/);
  });
});

describe('readiness (/readyz)', () => {
  test('all three checks pass: ready', async () => {
    expect(await checkReadiness(healthy)).toEqual({
      ready: true,
      checks: [
        { name: 'database', ok: true },
        { name: 'schema', ok: true },
        { name: 'lease', ok: true },
      ],
    });
  });

  test('database down: not ready, the reason in one line without the connection string; schema not checked', async () => {
    let schemaChecked = false;
    const r = await checkReadiness({
      ...healthy,
      database: () =>
        Promise.reject(
          new Error('connect ECONNREFUSED 10.0.0.5:5432 (postgres://app:hunter2@db.example:5432/ledger)\nat …'),
        ),
      schemaHealthy: () => {
        schemaChecked = true;
        return Promise.resolve({ healthy: true });
      },
    });
    expect(r.ready).toBe(false);
    expect(schemaChecked).toBe(false);
    const [db, schema, lease] = r.checks;
    expect(db).toMatchObject({ name: 'database', ok: false });
    expect(db!.reason).toMatch(/^database unreachable: .*ECONNREFUSED/);
    expect(db!.reason).not.toMatch(/hunter2|\n/);
    expect(schema).toEqual({ name: 'schema', ok: false, reason: 'not checked: the database is unreachable' });
    expect(lease).toEqual({ name: 'lease', ok: true });
  });

  test('a database that does not answer within the timeout is down, not a hung probe', async () => {
    const r = await checkReadiness({ ...healthy, database: () => new Promise<void>(() => {}), timeoutMs: 20 });
    expect(r.checks[0]).toEqual({
      name: 'database',
      ok: false,
      reason: 'database unreachable: no answer within 20 ms',
    });
  });

  test('schema unhealthy: not ready, with the pre-flight verdict', async () => {
    const r = await checkReadiness({
      ...healthy,
      schemaHealthy: () => Promise.resolve({ healthy: false, reason: 'ledger schema unhealthy: 1 pending migration' }),
    });
    expect(r.ready).toBe(false);
    expect(r.checks[1]).toEqual({ name: 'schema', ok: false, reason: 'ledger schema unhealthy: 1 pending migration' });
  });

  test('lease state unknown: not ready', async () => {
    const r = await checkReadiness({ ...healthy, leaseStateKnown: () => false });
    expect(r.ready).toBe(false);
    expect(r.checks[2]).toMatchObject({
      name: 'lease',
      ok: false,
      reason: expect.stringMatching(/^lease state unknown/),
    });
  });

  test('without the pre-flight (preflight: false) the schema is not part of readiness', async () => {
    const r = await checkReadiness({ ...healthy, schemaHealthy: undefined });
    expect(r.checks.map((c) => c.name)).toEqual(['database', 'lease']);
  });
});

describe('served beside /metrics', () => {
  let metrics: WatchMetrics;
  let base: string;
  let leaseKnown = true;
  let dbUp = true;

  beforeAll(async () => {
    metrics = new WatchMetrics(() => Promise.resolve([]), undefined, { processMetrics: false });
    const dog = new EventLoopWatchdog({ clock: new ManualClock(), beatMs: 1000, stallMs: 5000 });
    const health = new WatchHealth(dog, {
      database: () => (dbUp ? Promise.resolve() : Promise.reject(new Error('Connection terminated unexpectedly'))),
      leaseStateKnown: () => leaseKnown,
    });
    const port = await metrics.listen(0, '127.0.0.1', health);
    base = `http://127.0.0.1:${port}`;
  });

  afterAll(() => metrics.close());

  test('200 and 503 with JSON bodies naming the failed checks', async () => {
    let res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    dbUp = false;
    leaseKnown = false;
    res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      status: 'not ready',
      checks: [
        { name: 'database', ok: false, reason: 'database unreachable: Connection terminated unexpectedly' },
        {
          name: 'lease',
          ok: false,
          reason: 'lease state unknown: the lease connection is down or has not renewed within the lease period',
        },
      ],
    });
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
  });

  test('only GET', async () => {
    const res = await fetch(`${base}/readyz`, { method: 'POST' });
    expect(res.status).toBe(404);
  });
});
