/**
 * Nothing hangs: an actual run against an API server that accepts list requests and never answers ends in
 * bounded time with every kind named. After one request got no answer through all its retries, the next
 * requests get one attempt each; and the run's list deadline (`listDeadlineMs`) fails every kind not listed by
 * then. Kinds not listed are never swept. Against the fake Kubernetes API (its `hang` fault) and a real database.
 */
import 'reflect-metadata';
import type { MikroORM } from '@mikro-orm/postgresql';
import { FABRIC_KINDS } from '../src/kube/catalog.js';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { FabricSyncService } from '../src/sync/fabric-sync-service.js';
import { ClusterReader, type ClusterReaderOptions } from '../src/kube/cluster-reader.js';
import { kindInfo } from '../src/kube/catalog.js';
import { FakeKubeApi } from '../src/testing/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { obj, vpcs } from './helpers/kube-objects.js';

let db: TestDatabase;
let orm: MikroORM;
let api: FakeKubeApi;
let seq = 0;

/** Every list of a fabric kind (discovery and the CRD list excluded). */
const ANY_LIST = /^\/apis\/(?!apiextensions)[^/]+\/[^/]+\/.+/;
/** Every request of a fabric kind except the VPCs' (the first kind of the catalog): their lists and their GETs. */
const ALL_BUT_VPC_LISTS = /^\/apis\/(?!apiextensions)[^/]+\/[^/]+\/(?!vpcs$|namespaces\/[^/]+\/vpcs\/).+/;

beforeAll(async () => {
  db = await createTestDatabase();
  orm = db.orm;
  api = new FakeKubeApi();
  api.load([...vpcs(2), obj('Server', 'srv-1'), obj('Switch', 'sw-1')]);
  await api.start();
});
afterAll(async () => {
  await api.stop();
  await db.close();
});
afterEach(() => api.clearFaults());

function service(reader: Omit<ClusterReaderOptions, 'namespaces'>) {
  return new FabricSyncService(orm.em, {
    kubeConfigFor: () => api.kubeConfig(),
    reader: { baseDelayMs: 1, maxDelayMs: 5, ...reader },
  });
}

import type { SyncRunReport } from '../src/sync/run-recorder.js';

/** The kinds a run could not read, with the reason (error entries naming a kind and no object). */
const failedKinds = (run: SyncRunReport) => new Map(run.errors.filter((e) => !e.name).map((e) => [e.kind, e.reason]));

const listRequests = () => api.requests.filter((r) => ANY_LIST.test(r.path));

async function timed<T>(fn: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const t0 = Date.now();
  const result = await fn();
  return { result, ms: Date.now() - t0 };
}

test('a server that answers no list: after the first kind ran out of retries, each other kind gets one attempt; every kind named', async () => {
  const fabric = await new FabricRegistry(orm.em).create(`bounded-${++seq}`);
  api.injectFault({ type: 'hang', match: { path: ANY_LIST } });
  api.clearRequests();
  const { result: run, ms } = await timed(() =>
    service({ requestTimeoutMs: 150, maxRetries: 3, listDeadlineMs: 60_000 }).syncActualState(fabric),
  );

  expect(run.status).toBe('failed');
  expect([...failedKinds(run).keys()].sort()).toEqual(FABRIC_KINDS.map((k) => k.kind).sort());
  // 4 attempts for the first kind, 1 for each of the 13 others (not 14 × 4).
  expect(listRequests()).toHaveLength(4 + (FABRIC_KINDS.length - 1));
  expect(ms).toBeLessThan(14 * 4 * 150);
});

test('the run list deadline: kinds not listed by then fail with that reason, the run ends at the deadline', async () => {
  const fabric = await new FabricRegistry(orm.em).create(`bounded-${++seq}`);
  api.injectFault({ type: 'hang', match: { path: ANY_LIST } });
  const { result: run, ms } = await timed(() =>
    service({ requestTimeoutMs: 400, maxRetries: 5, listDeadlineMs: 1_000 }).syncActualState(fabric),
  );

  expect(run.status).toBe('failed');
  const byKind = failedKinds(run);
  expect([...byKind.keys()].sort()).toEqual(FABRIC_KINDS.map((k) => k.kind).sort());
  expect(byKind.get('VLANNamespace')).toMatch(/not listed: the run's list deadline \(1000 ms\) passed/);
  // The first kind alone would take 6 attempts × 400 ms without the deadline.
  expect(ms).toBeLessThan(2_000);
});

test('kinds listed before the deadline land; the others are failed, never swept; the run is partial', async () => {
  const fabric = await new FabricRegistry(orm.em).create(`bounded-${++seq}`);
  const svc = service({ requestTimeoutMs: 300, maxRetries: 5, listDeadlineMs: 800 });
  expect((await svc.syncActualState(fabric)).status).toBe('completed');

  api.update({ ...obj('VPC', 'vpc-00000', 'default', { vlan: 4000 }) });
  api.injectFault({ type: 'hang', match: { path: ALL_BUT_VPC_LISTS } });
  const run = await svc.syncActualState(fabric);

  expect(run.status).toBe('partial');
  expect(run.counts.updated).toBe(1);
  expect([...failedKinds(run).keys()]).toEqual(FABRIC_KINDS.filter((k) => k.kind !== 'VPC').map((k) => k.kind));
  const rows = await orm.em
    .fork()
    .getConnection()
    .execute(`SELECT kind, name FROM hedgehog_resource WHERE fabric_id = ? AND actual_spec IS NOT NULL ORDER BY 1, 2`, [
      fabric.id,
    ]);
  expect(rows.map((r: any) => `${r.kind}/${r.name}`)).toEqual([
    'Server/srv-1',
    'Switch/sw-1',
    'VPC/vpc-00000',
    'VPC/vpc-00001',
  ]);
});

test('any answer restores the retries: after a silent kind, a kind answering 500 once is not retried, the next one is', async () => {
  const reader = new ClusterReader(api.kubeConfig(), {
    requestTimeoutMs: 150,
    maxRetries: 2,
    baseDelayMs: 1,
    maxDelayMs: 5,
  });
  api.injectFault({ type: 'hang', times: 3, match: { plural: 'vpcs' } });
  api.injectFault({ type: 'status', code: 500, times: 1, match: { plural: 'servers' } });
  api.injectFault({ type: 'status', code: 500, times: 1, match: { plural: 'switches' } });

  const silent = await reader.listKind(kindInfo('VPC')!);
  expect(silent.failure).toMatch(/after 3 attempts: RequestTimeoutError/);
  const afterSilence = await reader.listKind(kindInfo('Server')!);
  expect(afterSilence.complete).toBe(false);
  expect(afterSilence.failure).toMatch(/servers.* failed: HTTP 500/);
  const afterAnAnswer = await reader.listKind(kindInfo('Switch')!);
  expect(afterAnAnswer.complete).toBe(true);
  expect(afterAnAnswer.observations.map((o) => o.name)).toEqual(['sw-1']);
});
