/**
 * The watch retries the discovery of kinds whose discovery failed at start (a 503 for one API group): they are
 * named in `ready.skipped`, asked about again with backoff, and once the group answers they are listed and
 * watched — their objects land, and later changes too — without restarting the watch. Runs on PostgreSQL and PGlite.
 */
import 'reflect-metadata';
import type { EntityManager } from '@mikro-orm/core';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import type { HedgehogFabric } from '../src/entities/index.js';
import { FABRIC_KINDS } from '../src/kube/catalog.js';
import { FabricSyncService } from '../src/sync/fabric-sync-service.js';
import { FakeKubeApi } from '../src/testing/index.js';
import { startWatch, type WatchEvents, type WatchHandle } from '../src/watch/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { obj, vpcs } from './helpers/kube-objects.js';
import { ledgerView, waitFor } from './helpers/watch-support.js';
import { ManualClock } from './helpers/manual-clock.js';
import { systemClock } from '../src/clock.js';

const WIRING_DISCOVERY = /^\/apis\/wiring\.githedgehog\.com\/v1beta1$/;
const WIRING_KINDS = FABRIC_KINDS.filter((k) => k.group === 'wiring.githedgehog.com').map((k) => k.kind);

let db: TestDatabase;
let em: EntityManager;
let api: FakeKubeApi;
let fabric: HedgehogFabric;
let handle: WatchHandle | undefined;

beforeAll(async () => {
  db = await createTestDatabase();
  em = db.orm.em;
  api = new FakeKubeApi();
  api.load([...vpcs(2), obj('Server', 'srv-1'), obj('Switch', 'sw-1')]);
  await api.start();
  fabric = await new FabricRegistry(em).create('discovery-retry');
});
afterAll(async () => {
  await handle?.stop();
  // Declared as set, but unset here when the setup that assigns it failed or never ran.
  await (api as FakeKubeApi | undefined)?.stop();
  await (db as TestDatabase | undefined)?.close();
});

const inLedger = async (kind: string) =>
  Object.keys(await ledgerView(em, fabric.id))
    .filter((k) => k.startsWith(`${kind}/`))
    .sort();

test('discovery 503 for one group at start, then healthy: its kinds are watched and land', async () => {
  // The start's discovery and the first retry get 503; the second retry is answered.
  api.injectFault({ type: 'status', code: 503, times: 2, match: { path: WIRING_DISCOVERY } });
  const sync = new FabricSyncService(em, { kubeConfigFor: () => api.kubeConfig() });
  // The discovery retries wait on an injected clock, moved by the test once the first 'ready' is in: on a loaded
  // machine a real 100 ms backoff could answer before the initial lists were written, and 'ready' would come only
  // after the retried kinds too. The watcher and its requests keep real time; so do the leases in effect: nothing
  // polls them on this clock, and their period is longer than the test.
  const clock = new ManualClock();
  handle = await startWatch({ em, sync }, [fabric.name], {
    clock,
    leasePeriodMs: 600_000,
    flushIntervalMs: 50,
    stallTimeoutMs: 5000,
    leasePollMs: 200,
    runWindowMs: 300,
    summaryIntervalMs: 200,
    desiredSync: false,
    retry: { baseMs: 50, maxMs: 500 },
    // 500–1000 ms per retry: never mistaken for the 100 ms housekeeping tick on the same clock.
    discoveryRetry: { baseMs: 1000, maxMs: 1000 },
    watcher: {
      clock: systemClock,
      backoff: { baseMs: 50, maxMs: 500 },
      list: { maxRetries: 0, baseDelayMs: 5, maxDelayMs: 50 },
    },
  });
  const ready: WatchEvents['ready'][0][] = [];
  const discovered: WatchEvents['discovered'][0][] = [];
  handle.on('ready', (r) => ready.push(r));
  handle.on('discovered', (d) => discovered.push(d));

  await waitFor(() => ready.length > 0, 15_000, 'ready');
  expect(ready[0]!.skipped.map((s) => s.kind).sort()).toEqual([...WIRING_KINDS].sort());
  expect(ready[0]!.skipped[0]!.reason).toMatch(/503/);
  expect(await inLedger('VPC')).toEqual(['VPC/default/vpc-00000', 'VPC/default/vpc-00001']);

  // First retry: still 503. Second: answered.
  const discoveryRetryDue = (ms: number) => ms >= 500;
  await clock.whenTimer(discoveryRetryDue);
  clock.advance(1000);
  await clock.whenTimer(discoveryRetryDue);
  const answered = new Promise((resolve) => handle!.once('discovered', resolve));
  clock.advance(1000);
  await answered;
  await waitFor(() => discovered.length > 0, 10_000, 'the retried discovery');
  expect(discovered[0]!.kinds.sort()).toEqual([...WIRING_KINDS].sort());
  await waitFor(
    async () => (await inLedger('Server')).length === 1 && (await inLedger('Switch')).length === 1,
    10_000,
    'the wiring objects',
  );
  const wiringDiscoveries = api.requests.filter((r) => WIRING_DISCOVERY.test(r.path));
  expect(wiringDiscoveries.map((r) => r.status)).toEqual([503, 503, 200]);

  // Watched, not only listed: a new Server lands by its watch event.
  api.create(obj('Server', 'srv-2'));
  await waitFor(async () => (await inLedger('Server')).length === 2, 10_000, 'the new Server');
});
