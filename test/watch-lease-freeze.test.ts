/**
 * A FROZEN lease holder (SIGSTOP, a paused VM) must lose its fabrics: before, its session advisory lock stayed held
 * as long as its TCP connection lived — and a stopped process's kernel still answers keepalives — so nobody synced.
 *
 * - Expiry and fencing with an injected clock (FabricLeases' own view: a replica that did not renew in time treats
 *   its leases as gone before any write) — on both databases.
 * - The database's view (PostgreSQL server): a holder whose heartbeat is older than the lease period fails the
 *   fencing check inside a write transaction, and a replica wanting the fabric ends its lease session and takes it.
 * - Two real replica processes (server): SIGSTOP the holder; the other takes over within the lease period; SIGCONT
 *   the old holder: it gives the fabric up without writing anything, and the ledger converges on the cluster.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { EntityManager } from '@mikro-orm/core';
import { openLedger } from '../src/ledger.js';
import { FakeKubeApi, generateSampleFabric } from '../src/testing/index.js';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { FabricSyncService } from '../src/sync/fabric-sync-service.js';
import { silentLogger } from '../src/sync/logger.js';
import { FabricLeases } from '../src/watch/fabric-lease.js';
import { LeasedFabricSync } from '../src/watch/leased-fabric-sync.js';
import {
  AdvisoryLeaseBackend,
  InProcessLeaseBackend,
  leaseConnectionConfig,
  type LeaseBackend,
} from '../src/watch/lease-backend.js';
import { describeWithServer, createEmptyDatabase, createTestDatabase, type TestDatabase } from './helpers/database.js';
import { ManualClock } from './helpers/manual-clock.js';
import { assertBuilt, spawnReplica, type Replica } from './helpers/watch-replica-process.js';
import { churn, delay, fakeView, ledgerView, viewDiff, waitFor } from './helpers/watch-support.js';

let db: TestDatabase;
let em: EntityManager;

beforeAll(async () => {
  db = await createTestDatabase();
  em = db.orm.em;
});

afterAll(async () => {
  // Declared as set, but unset here when the setup that assigns it failed or never ran.
  await (db as TestDatabase | undefined)?.close();
});

function backendFor(group: string, leasePeriodMs: number): LeaseBackend {
  if (db.embedded) return new InProcessLeaseBackend(`freeze-${group}`, group);
  return new AdvisoryLeaseBackend(leaseConnectionConfig(em), { group, queryTimeoutMs: 2000, leasePeriodMs });
}

test('a replica that did not renew within the lease period (its clock) drops its leases and fails the fence', async () => {
  // The leases' timers and clock are an injected clock: nothing moves unless the test moves it.
  const clock = new ManualClock(1_000);
  const leases = new FabricLeases(backendFor('hh-sync-watch:freeze-clock', 10_000), [41], {
    pollMs: 60_000, // no timer poll during the test: the clock alone decides
    checkMs: 300,
    leasePeriodMs: 1_000,
    clock,
  });
  const events: string[] = [];
  const lost: string[] = [];
  leases.on('lost', (_ids, reason) => {
    lost.push(reason);
    events.push('lost');
  });
  leases.on('acquired', () => events.push('acquired'));
  try {
    await leases.start();
    expect(leases.heldIds()).toEqual([41]);
    clock.advance(900); // within the period: still held, and the database agrees
    expect(await em.fork().transactional((tem) => leases.stillHolds(tem, 41))).toBe(true);
    clock.advance(200); // 1 100 ms without a renewal: the process was frozen
    expect(await em.fork().transactional((tem) => leases.stillHolds(tem, 41))).toBe(false);
    // The failed fence asked for a poll now (a 0 ms timer): it drops the leases and takes the fabric afresh.
    const retaken = new Promise((resolve) => leases.once('acquired', resolve));
    await clock.whenTimer((ms) => ms === 0);
    clock.advance(0);
    await retaken;
    expect(events.length).toBeGreaterThanOrEqual(3);
    expect(lost[0]).toMatch(/lease expired: not renewed for 1100 ms \(lease period 1000 ms\)/);
    // Nobody else wants the fabric: the same poll takes it again, as a NEW lease (its watch starts afresh).
    expect(events).toEqual(['acquired', 'lost', 'acquired']);
  } finally {
    await leases.close();
  }
});

test('a desired-state sync due when the lease is gone (a replica waking up) does not run: the watch gives the fabric up', async () => {
  const sync = new FabricSyncService(em);
  const fabric = await new FabricRegistry(em).create('fz-desired', { gitRepository: 'file:///nowhere/fabric.git' });
  let desiredRuns = 0;
  sync.syncDesiredState = () => {
    desiredRuns++;
    return Promise.reject(new Error('must not run'));
  };
  const w = new LeasedFabricSync({
    sync,
    em,
    fabric,
    kubeConfigFor: () => {
      throw new Error('no cluster in this test');
    },
    schemas: sync.schemas,
    stillHolds: () => Promise.resolve(false),
    logger: silentLogger,
  });
  const lost = new Promise((resolve) => w.once('lease-lost', resolve));
  expect(await w.syncDesiredNow()).toBeNull();
  await lost;
  await w.stop();
  expect(desiredRuns).toBe(0);
});

describeWithServer('expiry on the database clock (PostgreSQL server; skipped without one)', () => {
  test('an expired holder fails the fence in a write transaction; a replica wanting the fabric ends its session and takes it', async () => {
    const opts = { group: 'hh-sync-watch:freeze-db', queryTimeoutMs: 2000, leasePeriodMs: 400 };
    const a = new AdvisoryLeaseBackend(leaseConnectionConfig(em), opts);
    const b = new AdvisoryLeaseBackend(leaseConnectionConfig(em), opts);
    const lostA: string[] = [];
    a.onLost((r) => lostA.push(r));
    await a.connect();
    await b.connect();
    try {
      expect(await a.tryAcquire(42)).toBe(true);
      expect(await b.tryAcquire(42)).toBe(false); // a is fresh: b waits
      expect(await em.fork().transactional((tem) => a.stillHolds(tem, 42))).toBe(true);
      // a stops renewing (frozen); b keeps renewing. After the period (database clock), a's lease has expired.
      const renewB = async () => {
        await b.ping();
        return true;
      };
      await waitFor(
        async () => (await renewB()) && !(await em.fork().transactional((tem) => a.stillHolds(tem, 42))),
        3000,
        'the fence to fail',
      );
      expect((await b.members()).map((m) => m.self)).toEqual([true]); // the frozen replica is no member any more
      expect(await b.tryAcquire(42)).toBe(true);
      expect(await em.fork().transactional((tem) => b.stillHolds(tem, 42))).toBe(true);
      // a wakes: its renewal fails, and it knows its leases are gone.
      await expect(a.ping()).rejects.toThrow();
      expect(lostA.length).toBe(1);
      expect(a.connected).toBe(false);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('a late renewal does not revive an expired lease', async () => {
    const a = new AdvisoryLeaseBackend(leaseConnectionConfig(em), {
      group: 'hh-sync-watch:freeze-late',
      queryTimeoutMs: 2000,
      leasePeriodMs: 300,
    });
    const lost: string[] = [];
    a.onLost((r) => lost.push(r));
    await a.connect();
    try {
      expect(await a.tryAcquire(43)).toBe(true);
      await waitFor(async () => !(await em.fork().transactional((tem) => a.stillHolds(tem, 43))), 3000, 'expiry');
      await expect(a.ping()).rejects.toThrow(/lease expired: not renewed for \d+ ms \(lease period 300 ms\)/);
      expect(lost[0]).toMatch(/lease expired/);
    } finally {
      await a.close();
    }
  });
});

describeWithServer('a frozen replica process (SIGSTOP) — PostgreSQL server; skipped without one', () => {
  const LEASE_PERIOD_MS = 2000;
  const OPTIONS = {
    flushIntervalMs: 50,
    stallTimeoutMs: 2000,
    leasePollMs: 200,
    leaseCheckMs: 500,
    leasePeriodMs: LEASE_PERIOD_MS,
    runWindowMs: 60_000,
    retry: { baseMs: 100, maxMs: 500 },
    watcher: { backoff: { baseMs: 50, maxMs: 500 }, list: { baseDelayMs: 5, maxDelayMs: 50 } },
  };
  let api: FakeKubeApi;
  let dir: string;
  const replicas: Replica[] = [];

  beforeAll(async () => {
    assertBuilt();
    api = new FakeKubeApi();
    api.load(generateSampleFabric({ targetObjects: 60, seed: 5 }));
    await api.start();
    dir = mkdtempSync(path.join(tmpdir(), 'hh-lease-freeze-'));
    writeFileSync(path.join(dir, 'kubeconfig'), api.kubeconfigYaml(), { mode: 0o600 });
  });

  afterAll(async () => {
    for (const r of replicas) {
      if (r.proc.exitCode === null && r.proc.signalCode === null) {
        r.proc.kill('SIGCONT');
        r.proc.kill('SIGKILL');
      }
    }
    await Promise.all(replicas.map((r) => r.exited));
    // Declared as set, but unset here when the setup that assigns it failed or never ran.
    await (api as FakeKubeApi | undefined)?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('SIGSTOP the holder: the standby takes over within the lease period; after SIGCONT the old holder writes nothing', async () => {
    const place = await createEmptyDatabase();
    const ledger = await openLedger({ databaseUrl: place.url });
    try {
      const fabric = await ledger.fabrics.create('frozen', { kubeconfigPath: path.join(dir, 'kubeconfig') });
      const start = () => {
        const r = spawnReplica({ databaseUrl: place.url, fabrics: ['frozen'], options: OPTIONS });
        replicas.push(r);
        return r;
      };
      const a = start();
      await a.waitFor((l) => l.event === 'ready', 20_000, 'A ready');
      const b = start();
      expect((await b.waitFor((l) => l.event === 'started', 20_000, 'B started')).held).toEqual([]);

      let i = 0;
      let churning = true;
      // A named function, not an IIFE: TypeScript would read `churning` as always true inside one.
      const churnUntilStopped = async () => {
        while (churning) {
          churn(api, i++, 'fz');
          await delay(30);
        }
      };
      const churner = churnUntilStopped();
      await a.waitFor((l) => l.event === 'applied' && l.source === 'batch', 5000, 'A applying batches');

      const frozenAt = Date.now();
      a.proc.kill('SIGSTOP');
      const acquired = await b.waitFor(
        (l) => l.event === 'acquired',
        3 * LEASE_PERIOD_MS,
        'B takes over from the frozen A',
      );
      const takeoverMs = acquired.t - frozenAt;
      await b.waitFor((l) => l.event === 'ready', 15_000, 'B ready');
      await b.waitFor(
        (l) => l.event === 'applied' && l.source === 'batch' && l.t > acquired.t,
        5000,
        'B applying batches',
      );

      // A wakes with watch events (and maybe a write) in flight: it must give the fabric up without writing.
      const wokeAt = Date.now();
      a.proc.kill('SIGCONT');
      await a.waitFor((l) => l.event === 'released' && l.reason === 'lost', 5000, 'A gives the fabric up');
      await delay(500);
      churning = false;
      await churner;
      expect(a.lines.filter((l) => l.event === 'applied' && l.t >= wokeAt)).toEqual([]);
      expect(a.lines.some((l) => l.event === 'acquired' && l.t >= wokeAt)).toBe(false); // B holds it now
      if (process.env.HH_TEST_VERBOSE)
        console.info(`takeover ${takeoverMs} ms after SIGSTOP (lease period ${LEASE_PERIOD_MS} ms)`);
      // The lease expires at most one period after A's last renewal; B takes it at its next poll.
      expect(takeoverMs).toBeLessThan(LEASE_PERIOD_MS + 1000);

      await waitFor(
        async () => viewDiff(await ledgerView(ledger.em, fabric.id), fakeView(api)).length === 0,
        15_000,
        'convergence',
      ).catch(async (err: unknown) => {
        throw new Error(
          `${(err as Error).message}: ${viewDiff(await ledgerView(ledger.em, fabric.id), fakeView(api))
            .slice(0, 5)
            .join('; ')}`,
        );
      });
      a.proc.kill('SIGTERM');
      b.proc.kill('SIGTERM');
      expect((await a.exited).code).toBe(0);
      expect((await b.exited).code).toBe(0);
    } finally {
      await ledger.close();
      await place.drop();
    }
  });
});
