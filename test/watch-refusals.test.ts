/**
 * The watch path with an object PostgreSQL cannot store (NUL, lone surrogate): in the initial list and in a watch
 * batch, the refused object is reported and the other objects of the same kind and batch land; the kind is not
 * relisted in a loop and writes are never paused. Runs on PostgreSQL and on PGlite.
 */
import 'reflect-metadata';
import type { EntityManager } from '@mikro-orm/core';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import type { HedgehogFabric } from '../src/entities/index.js';
import { FabricSyncService } from '../src/sync/fabric-sync-service.js';
import { FakeKubeApi } from '../src/testing/index.js';
import { startWatch, type WatchEvents, type WatchHandle } from '../src/watch/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { obj, vpcs } from './helpers/kube-objects.js';
import { delay, ledgerView, waitFor } from './helpers/watch-support.js';

let db: TestDatabase;
let em: EntityManager;
let api: FakeKubeApi;
let fabric: HedgehogFabric;
let handle: WatchHandle;
const applied: WatchEvents['applied'][0][] = [];
const runs: WatchEvents['run'][0][] = [];
const paused: unknown[] = [];

const names = async (kind: string) =>
  Object.keys(await ledgerView(em, fabric.id))
    .filter((k) => k.startsWith(`${kind}/`))
    .sort();

beforeAll(async () => {
  db = await createTestDatabase();
  em = db.orm.em;
  api = new FakeKubeApi();
  api.load([...vpcs(2), obj('VPC', 'bad-at-start', 'default', { description: 'x\u0000y' }), obj('Server', 'srv-1')]);
  await api.start();
  const sync = new FabricSyncService(em, {
    kubeConfigFor: () => api.kubeConfig(),
    reader: { baseDelayMs: 5, maxDelayMs: 50 },
  });
  fabric = await new FabricRegistry(em).create('watch-refusals');
  handle = await startWatch({ em, sync }, ['watch-refusals'], {
    flushIntervalMs: 100,
    stallTimeoutMs: 5000,
    leasePollMs: 200,
    runWindowMs: 300,
    summaryIntervalMs: 200,
    retry: { baseMs: 50, maxMs: 500 },
    watcher: { backoff: { baseMs: 50, maxMs: 500 }, list: { baseDelayMs: 5, maxDelayMs: 50 } },
  });
  handle.on('applied', (a) => applied.push(a));
  handle.on('run', (r) => runs.push(r));
  handle.on('paused', (p) => paused.push(p));
});

afterAll(async () => {
  // Declared as set, but unset here when the setup that assigns it failed or never ran.
  await (handle as WatchHandle | undefined)?.stop();
  await (api as FakeKubeApi | undefined)?.stop();
  await (db as TestDatabase | undefined)?.close();
});

const vpcRelists = () => applied.filter((a) => a.kind === 'VPC' && a.source === 'relist');
const reportedErrors = () => runs.flatMap((r) => r.report.errors);

test('initial list: the refused object is reported, the other VPCs land', async () => {
  await waitFor(() => handle.ready().includes('watch-refusals'), 15_000, 'ready');
  expect(await names('VPC')).toEqual(['VPC/default/vpc-00000', 'VPC/default/vpc-00001']);
  expect(vpcRelists()).toHaveLength(1);
  expect(vpcRelists()[0]!.counts.failed).toBe(1);
  await waitFor(
    () => reportedErrors().some((e) => e.name === 'bad-at-start'),
    5000,
    'the refusal in a watch run record',
  );
  expect(reportedErrors().find((e) => e.name === 'bad-at-start')).toMatchObject({
    kind: 'VPC',
    namespace: 'default',
    reason: expect.stringMatching(/spec\.description contains a NUL character/),
  });
});

test('watch batch: a refused object among good ones; the good ones land, no relist loop, no pause', async () => {
  api.create(obj('VPC', 'good-1', 'default', { n: 1 }));
  api.create(obj('VPC', 'bad-surrogate', 'default', { description: '\ud800' }));
  api.create(obj('VPC', 'bad-label', 'default', { n: 1 }, { metadata: { labels: { k: 'v\u0000' } } }));
  api.create(obj('VPC', 'good-2', 'default', { n: 2 }));
  await waitFor(async () => (await names('VPC')).length === 4, 5000, 'the good VPCs of the batch');
  expect(await names('VPC')).toEqual([
    'VPC/default/good-1',
    'VPC/default/good-2',
    'VPC/default/vpc-00000',
    'VPC/default/vpc-00001',
  ]);
  await waitFor(
    () => ['bad-surrogate', 'bad-label'].every((n) => reportedErrors().some((e) => e.name === n)),
    5000,
    'refusals reported',
  );
  expect(reportedErrors().find((e) => e.name === 'bad-surrogate')!.reason).toMatch(
    /ADDED event: spec\.description contains a lone UTF-16 surrogate/,
  );
  await delay(500);
  expect(vpcRelists()).toHaveLength(1);
  expect(paused).toEqual([]);
});

test('a DELETED event whose name no ledger row can have is reported, not written (its batch still lands)', async () => {
  api.create(obj('VPC', 'nul\u0000name', 'default', { n: 1 }));
  api.delete('VPC', 'default', 'nul\u0000name');
  api.delete('VPC', 'default', 'good-1');
  await waitFor(async () => !(await names('VPC')).includes('VPC/default/good-1'), 5000, 'the good delete of the batch');
  await waitFor(
    () => reportedErrors().some((e) => /DELETED event without a valid metadata\.namespace/.test(e.reason)),
    5000,
    'the bad delete reported',
  );
  expect(vpcRelists()).toHaveLength(1);
  expect(paused).toEqual([]);
});
