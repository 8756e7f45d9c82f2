/**
 * Fabric leases: one holder per fabric, fencing, replicas sharing many fabrics, takeover after a graceful stop and
 * after the holder's lease connection dies. Replicas here are startWatch handles in this process; each has its own
 * lease connection on PostgreSQL (advisory locks), and they share the in-process table on PGlite.
 */
import 'reflect-metadata';
import type { EntityManager } from '@mikro-orm/core';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { FabricSyncService } from '../src/sync/fabric-sync-service.js';
import { FakeKubeApi, generateSampleFabric } from '../src/testing/index.js';
import fc from 'fast-check';
import { startWatch, type WatchHandle, type WatchOptions } from '../src/watch/index.js';
import { fairShares } from '../src/watch/fabric-lease.js';
import {
  AdvisoryLeaseBackend,
  InProcessLeaseBackend,
  leaseConnectionConfig,
  type LeaseBackend,
} from '../src/watch/lease-backend.js';
import { testWithServer, createTestDatabase, type TestDatabase } from './helpers/database.js';
import { startTcpProxy } from './helpers/tcp-proxy.js';
import { delay, fakeView, ledgerView, viewDiff, waitFor } from './helpers/watch-support.js';

let db: TestDatabase;
let em: EntityManager;
let api: FakeKubeApi;
let sync: FabricSyncService;
const handles: WatchHandle[] = [];
const FABRICS = ['f1', 'f2', 'f3', 'f4'];
const ids = new Map<string, number>();

const OPTIONS: WatchOptions = {
  flushIntervalMs: 50,
  stallTimeoutMs: 2000,
  leasePollMs: 150,
  leaseCheckMs: 300,
  retry: { baseMs: 50, maxMs: 300 },
  watcher: { backoff: { baseMs: 50, maxMs: 300 }, list: { baseDelayMs: 5, maxDelayMs: 50 } },
};

beforeAll(async () => {
  db = await createTestDatabase();
  em = db.orm.em;
  api = new FakeKubeApi();
  api.load(generateSampleFabric({ targetObjects: 40, seed: 8 }));
  await api.start();
  sync = new FabricSyncService(em, {
    kubeConfigFor: () => api.kubeConfig(),
    reader: { baseDelayMs: 5, maxDelayMs: 50 },
  });
  for (const name of FABRICS) ids.set(name, (await new FabricRegistry(em).create(name)).id);
});

afterEach(async () => {
  await Promise.all(handles.splice(0).map((h) => h.stop()));
});

afterAll(async () => {
  // Declared as set, but unset here when the setup that assigns it failed or never ran.
  await (api as FakeKubeApi | undefined)?.stop();
  await (db as TestDatabase | undefined)?.close();
});

async function watch(names: string[], extra: WatchOptions = {}): Promise<WatchHandle> {
  const h = await startWatch({ em, sync }, names, { ...OPTIONS, ...extra });
  handles.push(h);
  return h;
}

describe('fairShares', () => {
  const m = (order: number, cap = Infinity, self = false) => ({ order, held: 0, cap, self });

  test('even split, remainder to the first in order; a capped member leaves its rest to the others', () => {
    expect(fairShares(4, [m(2), m(1)]).map((t) => [t.member.order, t.target])).toEqual([
      [1, 2],
      [2, 2],
    ]);
    expect(fairShares(5, [m(2), m(1)]).map((t) => [t.member.order, t.target])).toEqual([
      [1, 3],
      [2, 2],
    ]);
    expect(fairShares(4, [m(1), m(2, 1)]).map((t) => [t.member.order, t.target])).toEqual([
      [2, 1],
      [1, 3],
    ]);
    expect(fairShares(4, [m(1, 1), m(2, 1)]).map((t) => t.target)).toEqual([1, 1]); // two stay unheld
  });

  test('property: targets respect caps, cover what the caps allow, and differ by at most one among the unsaturated', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 50 }),
        fc.array(fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }), { minLength: 1, maxLength: 8 }),
        (total, caps) => {
          const targets = fairShares(
            total,
            caps.map((c, i) => m(i, c ?? Infinity)),
          );
          const sum = targets.reduce((n, t) => n + t.target, 0);
          expect(sum).toBe(
            Math.min(
              total,
              caps.reduce<number>((n, c) => n + (c ?? Infinity), 0),
            ),
          );
          for (const t of targets) expect(t.target).toBeLessThanOrEqual(t.member.cap);
          const free = targets.filter((t) => t.target < t.member.cap).map((t) => t.target);
          if (free.length) expect(Math.max(...free) - Math.min(...free)).toBeLessThanOrEqual(1);
        },
      ),
    );
  });
});

describe('lease backend', () => {
  const backends = (): [LeaseBackend, LeaseBackend] => {
    if (db.embedded) return [new InProcessLeaseBackend('test-db', 'g'), new InProcessLeaseBackend('test-db', 'g')];
    const opts = { group: 'hh-sync-watch:leasetest', queryTimeoutMs: 2000 };
    return [
      new AdvisoryLeaseBackend(leaseConnectionConfig(em), opts),
      new AdvisoryLeaseBackend(leaseConnectionConfig(em), opts),
    ];
  };

  test('one holder per fabric; the fencing check follows the lock; release hands it over', async () => {
    const [a, b] = backends();
    await a.connect();
    await b.connect();
    try {
      expect(await a.tryAcquire(7)).toBe(true);
      expect(await b.tryAcquire(7)).toBe(false);
      expect(await b.tryAcquire(8)).toBe(true);
      expect((await a.members()).map((m) => m.held).sort()).toEqual([1, 1]);
      const fork = em.fork();
      expect(await a.stillHolds(fork, 7)).toBe(true);
      expect(await b.stillHolds(fork, 7)).toBe(false);
      await a.release(7);
      expect(await a.stillHolds(fork, 7)).toBe(false);
      expect(await b.tryAcquire(7)).toBe(true);
      expect(await b.stillHolds(fork, 7)).toBe(true);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('closing a holder frees all its fabrics for the others', async () => {
    const [a, b] = backends();
    await a.connect();
    await b.connect();
    try {
      expect(await a.tryAcquire(1)).toBe(true);
      expect(await a.tryAcquire(2)).toBe(true);
      await a.close();
      await waitFor(async () => (await b.tryAcquire(1)) && (await b.tryAcquire(2)), 3000, 'locks freed');
    } finally {
      await b.close();
    }
  });
});

test('replicas share the fabrics: a late replica receives its share, one holder each', async () => {
  const a = await watch(FABRICS);
  expect(a.held()).toEqual(FABRICS); // alone: all of them
  const b = await watch(FABRICS);
  await waitFor(() => a.held().length === 2 && b.held().length === 2, 15_000, 'two fabrics each');
  expect([...a.held(), ...b.held()].sort()).toEqual(FABRICS);
  // The hand-over was graceful and every fabric is watched: the ledgers converge.
  await waitFor(() => a.ready().length === 2 && b.ready().length === 2, 15_000, 'all ready');
  api.create({
    apiVersion: 'vpc.githedgehog.com/v1beta1',
    kind: 'VPC',
    metadata: { name: 'shared', namespace: 'default' },
    spec: {},
  });
  for (const name of FABRICS) {
    await waitFor(
      async () => viewDiff(await ledgerView(em, ids.get(name)!), fakeView(api)).length === 0,
      5000,
      `${name} converged`,
    );
  }
  // Stable: nobody keeps handing fabrics back and forth.
  const before = [a.held(), b.held()];
  await delay(1000);
  expect([a.held(), b.held()]).toEqual(before);
});

test('maxFabrics caps a replica; a graceful stop hands its fabrics to the others', async () => {
  const a = await watch(FABRICS, { maxFabrics: 1 });
  expect(a.held()).toHaveLength(1);
  const b = await watch(FABRICS);
  await waitFor(() => b.held().length === 3, 5000, 'b takes the other three');
  const released: string[] = [];
  a.on('released', (r) => released.push(`${r.fabric}:${r.reason}`));
  const aHeld = a.held();
  await a.stop();
  expect(released).toEqual([`${aHeld[0]}:stop`]);
  await waitFor(() => b.held().length === 4, 5000, 'b takes the fourth');
});

// On PGlite the lease is an in-process table: there is no lease connection to lose (the cases above cover it).
testWithServer('a replica whose lease connection dies gives its fabrics up; another takes them over', async () => {
  // a's lease connection goes through a proxy: cutting it is a network failure between a and the database that
  // a cannot repair at once (its writes, direct, would still work — the fencing check stops them).
  const proxy = await startTcpProxy(db.url);
  try {
    const a = await watch(['f1'], { leaseConnection: proxy.url });
    await waitFor(() => a.ready().includes('f1'), 10_000, 'a ready');
    const b = await watch(['f1']);
    expect(b.held()).toEqual([]);
    const released: string[] = [];
    a.on('released', (r) => released.push(r.reason));
    const writesAfterLoss: number[] = [];
    a.on('applied', () => released.length && writesAfterLoss.push(Date.now()));
    proxy.down();
    await waitFor(() => released.includes('lost'), 5000, 'a gives up');
    await waitFor(() => b.held().includes('f1'), 5000, 'b takes over');
    await waitFor(() => b.ready().includes('f1'), 10_000, 'b ready');
    api.create({
      apiVersion: 'vpc.githedgehog.com/v1beta1',
      kind: 'VPC',
      metadata: { name: 'after-takeover', namespace: 'default' },
      spec: {},
    });
    await waitFor(
      async () => viewDiff(await ledgerView(em, ids.get('f1')!), fakeView(api)).length === 0,
      5000,
      'f1 converged',
    );
    expect(writesAfterLoss).toEqual([]);
    // a's connection comes back, but a waits: b holds the fabric now.
    proxy.up();
    await delay(600);
    expect(a.held()).toEqual([]);
    expect(b.held()).toEqual(['f1']);
  } finally {
    await Promise.all(handles.splice(0).map((h) => h.stop()));
    await proxy.close();
  }
});
