/**
 * startWatch on one fabric, in this process, against the fake API and the test database (PGlite or PostgreSQL):
 * events reach the ledger, a dropped watch / a 410 / a silent stall are recovered with deletions swept, the desired
 * side is synced periodically and on demand, metrics are served, and stop() records the run and frees the lease.
 * The tests share one watch and run in order; each ends with the ledger equal to the fake's objects.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { EntityManager } from '@mikro-orm/core';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import type { HedgehogFabric } from '../src/entities/index.js';
import { FabricSyncService } from '../src/sync/fabric-sync-service.js';
import type { SyncRunReport } from '../src/sync/run-recorder.js';
import {
  FakeKubeApi,
  commitFiles,
  createGitRepo,
  generateSampleFabric,
  toManifestFiles,
} from '../src/testing/index.js';
import { startWatch, LOCK_NAMESPACE_WATCH, type WatchEvents, type WatchHandle } from '../src/watch/index.js';
import type { LeasedFabricSync } from '../src/watch/leased-fabric-sync.js';
import { createTestDatabase, withPg, type TestDatabase } from './helpers/database.js';
import { churn, delay, fakeView, ledgerView, viewDiff, waitFor } from './helpers/watch-support.js';

let db: TestDatabase;
let em: EntityManager;
let api: FakeKubeApi;
let sync: FabricSyncService;
let fabric: HedgehogFabric;
let handle: WatchHandle;
let repoDir: string;
const seen: { [K in keyof WatchEvents]?: WatchEvents[K][0][] } = {};

// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- K ties the event name to its payload type in the body
function record<K extends keyof WatchEvents>(h: WatchHandle, event: K): void {
  const list = (seen[event] ??= []) as WatchEvents[K][0][];
  (h.on as (e: K, l: (p: WatchEvents[K][0]) => void) => void)(event, (p) => list.push(p));
}

const converged = async () => viewDiff(await ledgerView(em, fabric.id), fakeView(api)).length === 0;

async function expectConverged(timeoutMs: number, what: string): Promise<number> {
  try {
    return await waitFor(converged, timeoutMs, what, 10);
  } catch (err) {
    const diff = viewDiff(await ledgerView(em, fabric.id), fakeView(api));
    throw new Error(
      `${(err as Error).message}; ledger vs fake differ at ${diff.length} keys: ${diff.slice(0, 5).join('; ')}`,
      { cause: err },
    );
  }
}

beforeAll(async () => {
  db = await createTestDatabase();
  em = db.orm.em;
  const objects = generateSampleFabric({ targetObjects: 120, seed: 5 });
  api = new FakeKubeApi();
  api.load(objects);
  await api.start();
  repoDir = mkdtempSync(path.join(tmpdir(), 'hh-watch-git-'));
  await createGitRepo(repoDir, toManifestFiles(objects));
  sync = new FabricSyncService(em, {
    kubeConfigFor: () => api.kubeConfig(),
    reader: { baseDelayMs: 5, maxDelayMs: 50 },
  });
  fabric = await new FabricRegistry(em).create('watched', { gitRepository: repoDir, syncIntervalSeconds: 3600 });
  handle = await startWatch({ em, sync }, ['watched'], {
    flushIntervalMs: 50,
    stallTimeoutMs: 1500,
    leasePollMs: 200,
    runWindowMs: 1000,
    summaryIntervalMs: 200,
    retry: { baseMs: 50, maxMs: 500 },
    watcher: { backoff: { baseMs: 50, maxMs: 500 }, list: { baseDelayMs: 5, maxDelayMs: 50 } },
    metricsPort: 0,
    metricsHost: '127.0.0.1',
  });
  for (const e of ['acquired', 'ready', 'applied', 'restart', 'desired', 'run', 'released', 'paused'] as const)
    record(handle, e);
});

afterAll(async () => {
  // Declared as set, but unset here when the setup that assigns it failed or never ran.
  await (handle as WatchHandle | undefined)?.stop();
  await (api as FakeKubeApi | undefined)?.stop();
  await (db as TestDatabase | undefined)?.close();
  if (repoDir) rmSync(repoDir, { recursive: true, force: true });
});

test('takes the fabric, lists every kind into the ledger and syncs the desired side from Git', async () => {
  await waitFor(() => handle.ready().includes('watched'), 15_000, 'ready');
  expect(handle.held()).toEqual(['watched']);
  expect(seen.acquired).toEqual([{ fabric: 'watched' }]);
  await expectConverged(5000, 'initial lists');
  const ready = seen.ready![0]!;
  expect(ready.kinds).toEqual(expect.arrayContaining(['VPC', 'Switch', 'Connection']));
  // The desired sync runs once at start (the interval is an hour).
  await waitFor(() => (seen.desired ?? []).length >= 1, 15_000, 'first desired sync');
  expect(seen.desired![0]!.report.status).toBe('completed');
  expect(seen.desired![0]!.report.counts.listed).toBe(120);
});

// How fast is not asserted here: a wall-clock bound fails on a loaded 2-core machine (1,045 ms once) and speed
// belongs in `npm run bench`. What is asserted: the events arrive as watch batches, without a relist or a resync.
test('watch events reach the ledger as watch batches', async () => {
  const vpc = api.list('VPC')[0]!;
  const batchesBefore = (seen.applied ?? []).filter((a) => a.source === 'batch').length;
  api.create({
    apiVersion: 'vpc.githedgehog.com/v1beta1',
    kind: 'VPC',
    metadata: { name: 'fresh', namespace: 'default' },
    spec: { n: 1 },
  });
  api.apply({ ...vpc, metadata: { ...vpc.metadata, labels: { edited: 'yes' } } });
  const server = api.list('Server')[0]!.metadata as { namespace: string; name: string };
  api.delete('Server', server.namespace, server.name);
  await expectConverged(10_000, 'create, update and delete in the ledger');
  const [row] = await em
    .fork()
    .getConnection()
    .execute(
      `SELECT actual_uid, labels, drift_status FROM hedgehog_resource WHERE fabric_id = ? AND kind = 'Server' AND name = ?`,
      [fabric.id, server.name],
    );
  // The deleted object's actual side is cleared; its Git declaration stays (now desired-only drift).
  expect(row.actual_uid).toBeNull();
  expect(row.drift_status).toBe('desired_only');
  const applied = (seen.applied ?? []).filter((a) => a.source === 'batch');
  expect(applied.length).toBeGreaterThan(batchesBefore);
});

test('a dropped watch connection is re-established without losing events', async () => {
  const restartsBefore = (seen.restart ?? []).length;
  api.injectFault({ type: 'drop', afterItems: 1, times: 1, match: { watch: true, plural: 'vpcs' } });
  api.closeWatches();
  for (let i = 0; i < 12; i++) {
    churn(api, i, 'drop');
    await delay(20);
  }
  await expectConverged(8000, 'convergence after a dropped watch');
  expect((seen.restart ?? []).length).toBeGreaterThan(restartsBefore);
});

test('an expired resourceVersion (410) relists the kind and sweeps objects deleted while disconnected', async () => {
  const relistsBefore = (seen.applied ?? []).filter((a) => a.source === 'relist' && a.kind === 'VPC').length;
  // Hold the next VPC watch back so the deletions happen while nobody watches, then forget the history.
  api.injectFault({ type: 'delay', ms: 300, times: 1, match: { watch: true, plural: 'vpcs' } });
  api.closeWatches();
  const victims = api
    .list('VPC')
    .slice(0, 3)
    .map((o) => (o.metadata as { name: string }).name);
  for (const name of victims) api.delete('VPC', 'default', name);
  api.compact();
  const vpcRelists = () => (seen.applied ?? []).filter((a) => a.source === 'relist' && a.kind === 'VPC');
  await waitFor(() => vpcRelists().length > relistsBefore, 8000, 'a VPC relist');
  await expectConverged(8000, 'convergence after a 410');
  expect((seen.restart ?? []).some((r) => r.kind.kind === 'VPC' && /410/.test(r.reason))).toBe(true);
  const swept = vpcRelists()
    .slice(relistsBefore)
    .reduce((n, a) => n + a.counts.cleared, 0);
  expect(swept).toBe(3);
  const rows = await em
    .fork()
    .getConnection()
    .execute(
      `SELECT count(*)::int AS n FROM hedgehog_resource WHERE fabric_id = ? AND kind = 'VPC' AND name IN (?, ?, ?) AND actual_uid IS NOT NULL`,
      [fabric.id, ...victims],
    );
  expect(rows[0].n).toBe(0);
});

test('a watch that goes silent (request never answered) is restarted by the watchdog', async () => {
  api.injectFault({ type: 'delay', ms: 30_000, times: 1, match: { watch: true, plural: 'switches' } });
  api.closeWatches();
  await delay(100);
  const sw = api.list('Switch')[0]!;
  api.apply({ ...sw, metadata: { ...sw.metadata, labels: { after: 'stall' } } });
  await expectConverged(8000, 'convergence after a stalled watch');
  expect((seen.restart ?? []).some((r) => r.kind.kind === 'Switch' && /silent/.test(r.reason))).toBe(true);
});

test('syncDesiredNow reads the new Git commit', async () => {
  const vpc = api.list('VPC')[0]!;
  type Manifest = { kind: string; metadata: { name: string; namespace: string }; spec?: object };
  const objects: Manifest[] = api.list().map((o) => {
    const { metadata, ...rest } = o as unknown as Manifest;
    return { ...rest, metadata: { name: metadata.name, namespace: metadata.namespace } };
  });
  const changed = objects.map((o) =>
    o.kind === 'VPC' && o.metadata.name === (vpc.metadata as { name: string }).name
      ? { ...o, spec: { ...o.spec, extra: 1 } }
      : o,
  );
  const commit = await commitFiles(repoDir, toManifestFiles(changed as any));
  const before = (seen.desired ?? []).length;
  const reports: SyncRunReport[] = await handle.syncDesiredNow();
  expect(reports).toHaveLength(1);
  expect(reports[0]!.commit).toBe(commit);
  expect(reports[0]!.status).toBe('completed');
  expect((seen.desired ?? []).length).toBe(before + 1);
  const [row] = await em
    .fork()
    .getConnection()
    .execute(`SELECT drift_status FROM hedgehog_resource WHERE fabric_id = ? AND kind = 'VPC' AND name = ?`, [
      fabric.id,
      (vpc.metadata as { name: string }).name,
    ]);
  expect(row.drift_status).toBe('spec_drift');
});

test('metrics: objects per kind and drift status, runs, event lag, restarts, held fabrics', async () => {
  // Let a run window close (1 s windows) so the run counter has a sample.
  await waitFor(() => (seen.run ?? []).length >= 1, 5000, 'a closed watch window');
  const res = await fetch(handle.metrics!.url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/text\/plain/);
  const body = await res.text();
  const value = (re: RegExp) => Number(body.match(re)?.[1] ?? NaN);
  const [counts] = await em
    .fork()
    .getConnection()
    .execute(
      `SELECT count(*)::int AS n FROM hedgehog_resource WHERE fabric_id = ? AND kind = 'VPC' AND drift_status = 'spec_drift'`,
      [fabric.id],
    );
  expect(value(/^hh_sync_objects\{fabric="watched",kind="VPC",drift_status="spec_drift"\} (\d+)$/m)).toBe(counts.n);
  expect(value(/^hh_sync_fabric_held\{fabric="watched"\} (\d+)$/m)).toBe(1);
  expect(value(/^hh_sync_watch_restarts_total\{fabric="watched",kind="VPC"\} (\d+)$/m)).toBeGreaterThanOrEqual(1);
  expect(value(/^hh_sync_watch_event_lag_seconds_count\{fabric="watched",kind="VPC"\} (\d+)$/m)).toBeGreaterThanOrEqual(
    1,
  );
  expect(
    value(/^hh_sync_runs_total\{fabric="watched",type="desired",status="completed"\} (\d+)$/m),
  ).toBeGreaterThanOrEqual(2);
  expect(body).toMatch(/^hh_sync_runs_total\{fabric="watched",type="watch",status="(completed|partial)"\} \d+$/m);
  expect(body).toMatch(/^# TYPE hh_sync_run_failures_total counter$/m);
  const notFound = await fetch(handle.metrics!.url.replace('/metrics', '/nope'));
  expect(notFound.status).toBe(404);
});

test('watch runs are recorded one row per window with the counts of their writes', async () => {
  const rows = await em
    .fork()
    .getConnection()
    .execute(
      `SELECT status, listed, created, updated, cleared, details, finished_at FROM sync_operation WHERE fabric_id = ? AND type = 'watch' ORDER BY id`,
      [fabric.id],
    );
  const closed = rows.filter((r: { finished_at: Date | null }) => r.finished_at !== null);
  expect(closed.length).toBeGreaterThanOrEqual(1);
  // At most one row is open at a time.
  expect(rows.length - closed.length).toBeLessThanOrEqual(1);
  // The first windows hold the initial lists: every served kind relisted, 120 objects listed.
  const relisted = new Set(closed.flatMap((r: { details: { relists: object } }) => Object.keys(r.details.relists)));
  expect([...relisted]).toEqual(expect.arrayContaining(['VPC', 'Switch', 'Connection', 'Server']));
  expect(closed.reduce((n: number, r: { listed: number }) => n + r.listed, 0)).toBeGreaterThanOrEqual(120);
  // Windows summed together saw the churn of the earlier tests.
  const total = closed.reduce(
    (n: number, r: { created: number; updated: number; cleared: number }) => n + r.created + r.updated + r.cleared,
    0,
  );
  expect(total).toBeGreaterThan(120);
});

test('stop() writes what is in flight, closes the run and releases the lease', async () => {
  // A change right before stopping is still written: stop hands pending events out and drains the queue.
  // Stopped once the watcher has received the event (not a fixed delay: on a loaded machine delivery takes longer),
  // and before the next flush, so the event is still in flight: stop must hand it out and write it.
  const received = () =>
    [...(handle as unknown as { watches: Map<number, LeasedFabricSync> }).watches.values()].reduce(
      (n, w) => n + w.eventsReceived,
      0,
    );
  const before = received();
  api.create({
    apiVersion: 'vpc.githedgehog.com/v1beta1',
    kind: 'VPC',
    metadata: { name: 'last-moment', namespace: 'default' },
    spec: {},
  });
  await waitFor(() => received() > before, 10_000, 'the watcher received the event', 1);
  await handle.stop();
  expect(handle.held()).toEqual([]);
  expect(seen.released).toEqual([{ fabric: 'watched', reason: 'stop' }]);
  expect(await converged()).toBe(true);
  const open = await em
    .fork()
    .getConnection()
    .execute(`SELECT count(*)::int AS n FROM sync_operation WHERE fabric_id = ? AND status = 'in_progress'`, [
      fabric.id,
    ]);
  expect(open[0].n).toBe(0);
  const last = seen.run!.at(-1)!.report;
  expect(last.finishedAt).not.toBeNull();
  expect(['completed', 'partial']).toContain(last.status);
  if (!db.embedded) {
    const locks = await withPg(db.url, (c) =>
      // Only this test's database: other test files' watches may hold advisory locks on the same server.
      c.query(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND classid::bigint = $1
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        [LOCK_NAMESPACE_WATCH],
      ),
    );
    expect(locks.rows[0].n).toBe(0);
  }
  // The lease is free: another watch takes the fabric at once.
  const next = await startWatch({ em, sync }, ['watched'], { leasePollMs: 100, desiredSync: false });
  try {
    expect(next.held()).toEqual(['watched']);
  } finally {
    await next.stop();
  }
});
