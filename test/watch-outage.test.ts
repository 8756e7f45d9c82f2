/**
 * The database goes away in the middle of a watch and comes back: objects keep changing on the cluster meanwhile
 * (creations, updates, deletions), and once the database answers again the ledger converges on the cluster.
 * Runs on PGlite (writes pause and resume; the lease is in-process) and on PostgreSQL (the lease connection dies
 * too, so the fabric is released and taken again, starting with complete lists).
 */
import 'reflect-metadata';
import { MikroORM } from '@mikro-orm/postgresql';
import { createOrmConfig } from '../src/db/orm-config.js';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { FabricSyncService } from '../src/sync/fabric-sync-service.js';
import { FakeKubeApi, generateSampleFabric } from '../src/testing/index.js';
import { startWatch, type WatchEvents, type WatchHandle } from '../src/watch/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';
import { churn, delay, fakeView, ledgerView, viewDiff, waitFor } from './helpers/watch-support.js';

let db: TestDatabase;
let proxy: TcpProxy;
// What init() returns: a core MikroORM (its own class), not an instance of the PostgreSQL subclass.
let orm: Awaited<ReturnType<typeof MikroORM.init>>;
let api: FakeKubeApi;
let handle: WatchHandle | undefined;

beforeAll(async () => {
  db = await createTestDatabase();
  proxy = await startTcpProxy(db.url);
  orm = await MikroORM.init(createOrmConfig(proxy.url, db.embedded ? { pool: { min: 0, max: 1 } } : {}));
  api = new FakeKubeApi();
  api.load(generateSampleFabric({ targetObjects: 100, seed: 21 }));
  await api.start();
});

afterAll(async () => {
  // Declared as set, but unset here when the setup that assigns it failed or never ran.
  (proxy as TcpProxy | undefined)?.up();
  await handle?.stop();
  await (api as FakeKubeApi | undefined)?.stop();
  await (orm as typeof orm | undefined)?.close(true);
  await (proxy as TcpProxy | undefined)?.close();
  await (db as TestDatabase | undefined)?.close();
});

test('database outage mid-watch: writes pause, changes keep coming, the ledger converges after recovery', async () => {
  const fabric = await new FabricRegistry(orm.em).create('outage');
  const sync = new FabricSyncService(orm.em, {
    kubeConfigFor: () => api.kubeConfig(),
    reader: { baseDelayMs: 5, maxDelayMs: 50 },
  });
  const events: string[] = [];
  const runs: WatchEvents['run'][0][] = [];
  handle = await startWatch({ em: orm.em, sync }, ['outage'], {
    flushIntervalMs: 50,
    stallTimeoutMs: 2000,
    leasePollMs: 200,
    leaseCheckMs: 500,
    runWindowMs: 60_000,
    retry: { baseMs: 100, maxMs: 400 },
    lockTimeoutMs: 2000,
    watcher: { backoff: { baseMs: 50, maxMs: 500 }, list: { baseDelayMs: 5, maxDelayMs: 50 } },
  });
  for (const e of ['acquired', 'released', 'paused', 'resumed', 'ready'] as const) handle.on(e, () => events.push(e));
  handle.on('run', (r) => runs.push(r));
  handle.on('error', () => undefined); // expected while the database is down

  // The direct ORM (not through the proxy) sees the ledger during and after the outage.
  const view = () => ledgerView(db.orm.em, fabric.id);
  await waitFor(async () => viewDiff(await view(), fakeView(api)).length === 0, 15_000, 'initial convergence');

  proxy.down();
  // Changes while the database is unreachable: the watch receives them, none can be written.
  for (let i = 0; i < 30; i++) {
    churn(api, i, 'outage');
    await delay(40);
  }
  await waitFor(() => events.includes('paused') || events.includes('released'), 5000, 'the watch noticing the outage');
  const during = await view();
  expect(viewDiff(during, fakeView(api)).length).toBeGreaterThan(0);

  proxy.up();
  // More changes right after the database is back, mixed with the recovery.
  for (let i = 30; i < 40; i++) {
    churn(api, i, 'outage');
    await delay(20);
  }
  try {
    await waitFor(
      async () => viewDiff(await view(), fakeView(api)).length === 0,
      20_000,
      'convergence after the outage',
      50,
    );
  } catch (err) {
    throw new Error(
      `${(err as Error).message}: ${viewDiff(await view(), fakeView(api))
        .slice(0, 5)
        .join('; ')} (events: ${events.join(',')})`,
      { cause: err },
    );
  }
  expect(handle.held()).toEqual(['outage']);
  if (db.embedded) {
    // In-process lease: the same watch paused its writes and resumed with complete lists.
    expect(events).toEqual(expect.arrayContaining(['paused', 'resumed']));
  } else {
    // The lease connection died with the others: the fabric was released, then taken again.
    expect(
      events.filter((e) => e === 'acquired').length + events.filter((e) => e === 'resumed').length,
    ).toBeGreaterThanOrEqual(2);
  }

  await handle.stop();
  handle = undefined;
  type RunRow = {
    status: string;
    details: { outages?: unknown[] } | null;
    error_message: string | null;
    finished_at: Date | null;
  };
  const rows = await db.orm.em
    .fork()
    .getConnection()
    .execute<RunRow[]>(
      `SELECT status, error_message, details, finished_at FROM sync_operation WHERE fabric_id = ? AND type = 'watch' ORDER BY id`,
      [fabric.id],
    );
  // Nothing left running, and the outage is on record.
  expect(rows.every((r) => r.finished_at !== null)).toBe(true);
  const noted = rows.some(
    (r) =>
      (r.details?.outages?.length ?? 0) > 0 || (r.status === 'failed' && /lease|database/.test(r.error_message ?? '')),
  );
  expect(noted).toBe(true);
});

test('stop() while the database is down returns promptly; the next holder closes the run left open', async () => {
  const fabric = await new FabricRegistry(orm.em).create('outage-stop');
  const sync = new FabricSyncService(orm.em, {
    kubeConfigFor: () => api.kubeConfig(),
    reader: { baseDelayMs: 5, maxDelayMs: 50 },
  });
  const options = {
    flushIntervalMs: 50,
    leasePollMs: 200,
    leaseCheckMs: 500,
    retry: { baseMs: 100, maxMs: 400 },
    lockTimeoutMs: 2000,
    stopTimeoutMs: 3000,
    desiredSync: false,
    watcher: { backoff: { baseMs: 50, maxMs: 500 }, list: { baseDelayMs: 5, maxDelayMs: 50 } },
  };
  handle = await startWatch({ em: orm.em, sync }, ['outage-stop'], options);
  handle.on('error', () => undefined);
  await waitFor(() => handle!.ready().includes('outage-stop'), 15_000, 'ready');
  proxy.down();
  for (let i = 100; i < 110; i++) {
    churn(api, i, 'outage-stop');
    await delay(30);
  }
  const t0 = Date.now();
  await handle.stop();
  handle = undefined;
  expect(Date.now() - t0).toBeLessThan(8000);
  proxy.up();

  // The run row could not be closed while the database was down (or the outage was noted in it).
  handle = await startWatch({ em: orm.em, sync }, ['outage-stop'], options);
  handle.on('error', () => undefined);
  await waitFor(() => handle!.ready().includes('outage-stop'), 15_000, 'ready again');
  await waitFor(
    async () => viewDiff(await ledgerView(db.orm.em, fabric.id), fakeView(api)).length === 0,
    10_000,
    'converged',
  );
  await handle.stop();
  handle = undefined;
  const open = await db.orm.em
    .fork()
    .getConnection()
    .execute(`SELECT count(*)::int AS n FROM sync_operation WHERE fabric_id = ? AND finished_at IS NULL`, [fabric.id]);
  expect(open[0]!.n).toBe(0);
});
