/**
 * Re-syncs that read metadata first (src/sync/kind-read.ts) against the fake API and a real database: a no-op
 * re-sync reads no full object, a change costs one GET, deletions and new objects land, a GET that fails refuses
 * that object only, a server that ignores the metadata-only header is read in full, and a rolled-back run stays true.
 */
import 'reflect-metadata';
import type { MikroORM } from '@mikro-orm/postgresql';
import { FabricSyncService } from '../src/sync/fabric-sync-service.js';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { ClusterReader } from '../src/kube/cluster-reader.js';
import { refreshFabricSummary, resourceRowWriteCount, writeFabricSummary } from '../src/store/fabrics.js';
import { loadActualIndexTexts } from '../src/store/stored-resources.js';
import { query } from '../src/store/sql.js';
import type { ActualSource } from '../src/sync/sources.js';
import { FakeKubeApi, type FakeKubeRequest } from '../src/testing/index.js';
import { createTestDatabase, testWithServer, withPg, type TestDatabase } from './helpers/database.js';
import { obj, vpcs } from './helpers/kube-objects.js';

let db: TestDatabase;
let orm: MikroORM;
const apis: FakeKubeApi[] = [];
let seq = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  orm = db.orm;
});
afterAll(async () => {
  await Promise.all(apis.map((a) => a.stop()));
  await db.close();
});

async function fakeWith(objs: readonly object[], opts: ConstructorParameters<typeof FakeKubeApi>[0] = {}) {
  const api = new FakeKubeApi(opts);
  api.load(objs);
  await api.start();
  apis.push(api);
  return api;
}

const servers = (n: number) => Array.from({ length: n }, (_, i) => obj('Server', `srv-${i}`, 'default', { i }));
const cluster = () => [...vpcs(20), ...servers(5)];

function service(api: FakeKubeApi, actualSource?: (reader: ClusterReader) => ActualSource) {
  return new FabricSyncService(orm.em, {
    kubeConfigFor: () => api.kubeConfig(),
    reader: { baseDelayMs: 2, maxDelayMs: 10, maxRetries: 1 },
    ...(actualSource
      ? { actualSource: (_f, c) => actualSource(new ClusterReader(c.kubeConfig(), { ...c.reader, signal: c.signal })) }
      : {}),
  });
}

async function synced(api: FakeKubeApi, svc = service(api)) {
  const fabric = await new FabricRegistry(orm.em).create(`meta-${++seq}`);
  const first = await svc.syncActualState(fabric);
  expect(first.status).toBe('completed');
  expect(first.details.reads).toMatchObject({ metadataLists: 0, fullLists: 14, gets: 0 });
  api.clearRequests();
  return { fabric, svc };
}

/** Data requests of the fabric kinds: full lists, metadata lists and single GETs. */
function reads(api: FakeKubeApi) {
  const data = api.requests.filter((r) => /\/apis\/(vpc|wiring)\.githedgehog\.com\/v1beta1\/.+/.test(r.path));
  const isGet = (r: FakeKubeRequest) => /\/namespaces\/[^/]+\/[^/]+\/[^/]+$/.test(r.path);
  return {
    fullLists: data.filter((r) => !isGet(r) && r.representation === 'full').length,
    metadataLists: data.filter((r) => !isGet(r) && r.representation === 'metadata').length,
    gets: data.filter(isGet).map((r) => r.path.split('/').slice(-1)[0]),
  };
}

async function rowVersions(fabricId: number): Promise<Map<string, string>> {
  const rows = await orm.em
    .fork()
    .getConnection()
    .execute<{ k: string; x: string }[]>(
      `SELECT kind || '/' || name AS k, xmin::text AS x FROM hedgehog_resource WHERE fabric_id = ?`,
      [fabricId],
    );
  return new Map(rows.map((r) => [r.k, r.x]));
}

const changedRows = (a: Map<string, string>, b: Map<string, string>) =>
  [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k)).sort();

async function row(fabricId: number, kind: string, name: string): Promise<any> {
  const [r] = await orm.em
    .fork()
    .getConnection()
    .execute(`SELECT * FROM hedgehog_resource WHERE fabric_id = ? AND kind = ? AND name = ?`, [fabricId, kind, name]);
  return r;
}

test('a no-op re-sync reads metadata only: no full list, no GET, no row touched, counts true', async () => {
  const api = await fakeWith(cluster());
  const { fabric, svc } = await synced(api);
  const before = await rowVersions(fabric.id);
  const r = await svc.syncActualState(fabric);
  expect(r.status).toBe('completed');
  expect(r.counts).toMatchObject({ listed: 25, created: 0, updated: 0, unchanged: 25, cleared: 0, failed: 0 });
  // Every kind by metadata, the 12 empty ones too (a fabric read before: its lists all start at once).
  expect(r.details.reads).toMatchObject({ metadataLists: 14, fullLists: 0, gets: 0, fullPages: 0 });
  expect(reads(api)).toEqual({ fullLists: 0, metadataLists: 14, gets: [] });
  expect(changedRows(before, await rowVersions(fabric.id))).toEqual([]);
});

test('one changed, one new, one deleted object: one GET each for the first two; only their rows change', async () => {
  const api = await fakeWith(cluster());
  const { fabric, svc } = await synced(api);
  const before = await rowVersions(fabric.id);
  api.update({ ...obj('VPC', 'vpc-00003', 'default', { vlan: 4242 }) });
  api.create(obj('VPC', 'vpc-new'));
  api.delete('Server', 'default', 'srv-2');
  const r = await svc.syncActualState(fabric);
  expect(r.status).toBe('completed');
  expect(r.counts).toMatchObject({ listed: 25, created: 1, updated: 1, unchanged: 23, cleared: 1, failed: 0 });
  expect(reads(api).gets.sort()).toEqual(['vpc-00003', 'vpc-new']);
  expect(reads(api).fullLists).toBe(0);
  expect(changedRows(before, await rowVersions(fabric.id))).toEqual(['Server/srv-2', 'VPC/vpc-00003', 'VPC/vpc-new']);
  expect((await row(fabric.id, 'VPC', 'vpc-00003')).actual_spec).toEqual({ vlan: 4242 });
  expect((await row(fabric.id, 'VPC', 'vpc-new')).actual_uid).toBe(api.get('VPC', 'default', 'vpc-new')!.metadata.uid);
  expect(await row(fabric.id, 'Server', 'srv-2')).toBeUndefined(); // declared nowhere: gone with its history
});

/** The fabric's cached summary as stored. */
async function summaryOf(fabricId: number): Promise<any> {
  const [f] = await orm.em
    .fork()
    .getConnection()
    .execute<any[]>(
      `SELECT kind_counts, drift_summary, drifted_count, in_sync_count, sync_status FROM hedgehog_fabric WHERE id = ?`,
      [fabricId],
    );
  return f;
}

test('the summary stays true: recomputed from the rows when a re-sync writes nothing, and after the writes of one that does', async () => {
  const api = await fakeWith(cluster());
  const { fabric, svc } = await synced(api);
  const truth = await summaryOf(fabric.id);
  expect(truth.kind_counts).toMatchObject({ VPC: { total: 20, actual: 20 }, Server: { total: 5, actual: 5 } });
  // A summary gone wrong (a hand edit, a writer of an older version): a run that writes no row still corrects it.
  await orm.em
    .fork()
    .getConnection()
    .execute(
      `UPDATE hedgehog_fabric SET kind_counts = '{}', drift_summary = '{}', drifted_count = 99, in_sync_count = 0 WHERE id = ?`,
      [fabric.id],
    );
  const before = await rowVersions(fabric.id);
  expect((await svc.syncActualState(fabric)).counts).toMatchObject({ created: 0, updated: 0, cleared: 0 });
  expect(changedRows(before, await rowVersions(fabric.id))).toEqual([]);
  expect(await summaryOf(fabric.id)).toEqual(truth);
  // A run that writes: the summary taken before its writes is stale, and is not what is left.
  api.create(obj('VPC', 'vpc-new'));
  api.delete('Server', 'default', 'srv-2');
  expect((await svc.syncActualState(fabric)).counts).toMatchObject({ created: 1, cleared: 1 });
  expect((await summaryOf(fabric.id)).kind_counts).toMatchObject({
    VPC: { total: 21, actual: 21 },
    Server: { total: 4, actual: 4 },
  });
});

test("the summary written from the index load's counts is the summary recomputed from the rows", async () => {
  const fabric = await new FabricRegistry(orm.em).create(`meta-${++seq}`);
  const insert = (name: string, cols: string, values: string) =>
    query(
      orm.em.fork(),
      `INSERT INTO hedgehog_resource (fabric_id, kind, namespace, name${cols}) VALUES (?, 'VPC', 'default', ?${values})`,
      [fabric.id, name],
    );
  // Every figure the summary has: sides present or not, drift statuses (none yet too), severities, unreadable rows.
  await insert('a', ', actual_spec, drift_status', `, '{}', 'actual_only'`);
  await insert('b', ', desired_spec, drift_status, drift_severity', `, '{}', 'desired_only', 'high'`);
  await insert('c', ', desired_spec, actual_spec, drift_status', `, '{}', '{}', 'in_sync'`);
  await insert('d', ', desired_spec, actual_spec, drift_status, drift_severity', `, '{}', '{}', 'spec_drift', 'low'`);
  await insert('e', ', actual_spec, last_sync_error', `, '{}', 'refused'`);
  await insert('f', '', '');
  await query(
    orm.em.fork(),
    `INSERT INTO hedgehog_resource (fabric_id, kind, namespace, name, actual_spec, drift_status) VALUES (?, 'Server', 'default', 's', '{}', 'in_sync')`,
    [fabric.id],
  );
  await refreshFabricSummary(orm.em.fork(), fabric.id);
  const fromRows = await summaryOf(fabric.id);
  expect(fromRows.drift_summary).toMatchObject({ total: 7, unreadable: 1 });
  await query(orm.em.fork(), `UPDATE hedgehog_fabric SET kind_counts = '{}', drift_summary = '{}' WHERE id = ?`, [
    fabric.id,
  ]);
  const { summaryGroups } = await loadActualIndexTexts(orm.em.fork(), fabric.id);
  await writeFabricSummary(orm.em.fork(), fabric.id, summaryGroups);
  expect(await summaryOf(fabric.id)).toEqual(fromRows);
});

// Every hh-sync writer of the rows takes the fabric lock, so none can write during a run. A writer that does not (a
// hand edit, another program on the tables) is outside that contract: a run that writes nothing reports the rows as its
// index scan saw them (the summary is stamped with the run's start), and the next run counts the outside write.
// PostgreSQL only: PGlite serves one transaction at a time, so the other writer would wait for the run to end.
testWithServer(
  'a row committed outside the fabric lock during a no-op run is in the summary from the next run on',
  async () => {
    let paused!: () => void;
    const pausedAtServers = new Promise<void>((resolve) => (paused = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let armed = false;
    const gated = (reader: ClusterReader): ActualSource => {
      const source: ActualSource = Object.create(reader) as ActualSource;
      source.listKindMetadata = async (kind) => {
        const listed = await reader.listKindMetadata(kind);
        if (armed && kind.kind === 'Server') {
          paused();
          await gate;
        }
        return listed;
      };
      return source;
    };
    const api = await fakeWith(cluster());
    const { fabric, svc } = await synced(api, service(api, gated));
    armed = true;
    const run = svc.syncActualState(fabric);
    await pausedAtServers;
    await withPg(db.url, async (c) => {
      // The run has loaded its index (and counted its rows) once its transaction sits idle after that statement.
      for (let i = 0; i < 400; i++) {
        const { rows } = await c.query(
          `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'
            AND query LIKE '%json_agg(json_build_array%'`,
        );
        if (rows.length) break;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      await c.query(
        `INSERT INTO hedgehog_resource (fabric_id, kind, namespace, name, desired_spec, drift_status, drift_severity)
       VALUES ($1, 'VPC', 'default', 'made-by-hand', '{}', 'desired_only', 'high')`,
        [fabric.id],
      );
    });
    release();
    armed = false;
    expect((await run).status).toBe('completed');
    expect((await summaryOf(fabric.id)).kind_counts.VPC.total).toBe(20); // the rows as the run's scan saw them
    expect((await svc.syncActualState(fabric)).status).toBe('completed');
    const after = await summaryOf(fabric.id);
    expect(after.kind_counts.VPC).toEqual({ total: 21, actual: 20, desired: 1 });
    expect(after.drifted_count).toBe(26);
    expect(after.sync_status).toBe('out_of_sync');
  },
);

test('the resource-row write count grows by every row a transaction writes, rolled back or not; null when uncounted', async () => {
  const api = await fakeWith(cluster());
  const { fabric } = await synced(api);
  const probe = orm.em.fork().transactional(async (tem) => {
    // Writes of transactions just before may still be in it: only the difference of two readings is said.
    const start = await resourceRowWriteCount(tem);
    expect(start).not.toBeNull();
    await query(tem, `SELECT count(*) FROM hedgehog_resource WHERE fabric_id = ?`, [fabric.id]);
    expect(await resourceRowWriteCount(tem)).toBe(start);
    await query(tem, 'SAVEPOINT probe');
    await query(tem, `UPDATE hedgehog_resource SET sync_attempts = sync_attempts + 1 WHERE fabric_id = ?`, [fabric.id]);
    await query(tem, 'ROLLBACK TO SAVEPOINT probe');
    expect(await resourceRowWriteCount(tem)).toBe(start! + 25); // too high is safe: the summary is refreshed
    await query(tem, `DELETE FROM hedgehog_resource WHERE fabric_id = ? AND name = 'srv-0'`, [fabric.id]);
    expect(await resourceRowWriteCount(tem)).toBe(start! + 26);
    await query(tem, 'SET LOCAL track_counts = off');
    expect(await resourceRowWriteCount(tem)).toBeNull(); // unknown, never "nothing written"
    throw new Error('roll back');
  });
  await expect(probe).rejects.toThrow('roll back');
});

test('a server repeating items in a metadata-only list: each object is read, fetched and counted once', async () => {
  const api = await fakeWith(cluster());
  // The reader hands the stamps on as listed (src/kube/cluster-reader.ts): this source lists every VPC twice.
  const repeating = (reader: ClusterReader): ActualSource => {
    const source = reader as unknown as ActualSource & ClusterReader;
    return Object.assign(Object.create(source) as ActualSource, {
      listKindMetadata: async (kind: Parameters<ClusterReader['listKindMetadata']>[0]) => {
        const r = await reader.listKindMetadata(kind);
        return kind.kind === 'VPC' ? { ...r, stamps: [...r.stamps, ...[...r.stamps].reverse()] } : r;
      },
    });
  };
  const { fabric, svc } = await synced(api, service(api, repeating));
  const before = await rowVersions(fabric.id);
  api.update({ ...obj('VPC', 'vpc-00003', 'default', { vlan: 4242 }) });
  api.create(obj('VPC', 'vpc-new'));
  const r = await svc.syncActualState(fabric);
  expect(r.status).toBe('completed');
  expect(r.counts).toMatchObject({ listed: 26, created: 1, updated: 1, unchanged: 24, cleared: 0, failed: 0 });
  expect(reads(api).gets.sort()).toEqual(['vpc-00003', 'vpc-new']);
  expect(changedRows(before, await rowVersions(fabric.id))).toEqual(['VPC/vpc-00003', 'VPC/vpc-new']);
});

test('many changed objects of a kind: one full list of it instead of their GETs', async () => {
  const api = await fakeWith(cluster());
  const { fabric, svc } = await synced(api);
  for (let i = 0; i < 12; i++)
    api.update(obj('VPC', `vpc-${String(i).padStart(5, '0')}`, 'default', { vlan: 9000 + i }));
  const r = await svc.syncActualState(fabric);
  expect(r.counts).toMatchObject({ updated: 12, unchanged: 13 });
  // 12 > 8 GETs (one round per page of the full list, 8 in flight): the VPC list is read in full.
  expect(reads(api)).toEqual({ fullLists: 1, metadataLists: 14, gets: [] });
  expect(r.details.reads).toMatchObject({ metadataLists: 14, fullLists: 1, gets: 0 });
});

test('a GET refused (403) or failing (500): that object is refused and its row kept and marked; the others land', async () => {
  const api = await fakeWith(cluster());
  const { fabric, svc } = await synced(api);
  const before = await row(fabric.id, 'VPC', 'vpc-00001');
  for (const name of ['vpc-00001', 'vpc-00002', 'vpc-00003']) api.update(obj('VPC', name, 'default', { vlan: 7000 }));
  api.injectFault({ type: 'status', code: 403, match: { path: /\/vpcs\/vpc-00001$/ } });
  api.injectFault({ type: 'status', code: 500, match: { path: /\/vpcs\/vpc-00002$/ } });
  const r = await svc.syncActualState(fabric);
  expect(r.status).toBe('partial');
  expect(r.counts).toMatchObject({ listed: 23, updated: 1, unchanged: 22, cleared: 0, failed: 2 });
  expect(r.errors.map((e) => [e.name, e.reason])).toEqual(
    expect.arrayContaining([
      ['vpc-00001', expect.stringMatching(/forbidden: cannot get vpcs\.vpc\.githedgehog\.com default\/vpc-00001/)],
      ['vpc-00002', expect.stringMatching(/500/)],
    ]),
  );
  const kept = await row(fabric.id, 'VPC', 'vpc-00001');
  expect(kept.actual_resource_version).toBe(before.actual_resource_version); // the last version read, not swept
  expect(kept.last_sync_error).toMatch(/could not be read/);
  expect((await row(fabric.id, 'VPC', 'vpc-00003')).actual_spec).toEqual({ vlan: 7000 });
});

test('an object deleted between the metadata list and its GET is swept as deleted, honestly counted', async () => {
  const api = await fakeWith(cluster());
  // A source whose GET finds the object gone: deleted right after the list said it changed.
  const { fabric, svc } = await synced(
    api,
    service(api, (reader) => ({
      discover: (k) => reader.discover(k),
      readCrds: () => reader.readCrds(),
      listKind: (k) => reader.listKind(k),
      listKindMetadata: (k) => reader.listKindMetadata(k),
      getObject: (k, ns, name) => {
        api.delete(k.kind, ns, name);
        return reader.getObject(k, ns, name);
      },
    })),
  );
  api.update(obj('VPC', 'vpc-00004', 'default', { vlan: 1 }));
  const r = await svc.syncActualState(fabric);
  expect(r.status).toBe('completed');
  expect(r.counts).toMatchObject({ listed: 24, updated: 0, cleared: 1, failed: 0 });
  expect(r.details.reads).toMatchObject({ gets: 1, goneSinceListed: 1 });
  expect(await row(fabric.id, 'VPC', 'vpc-00004')).toBeUndefined();
});

test('a server that ignores the metadata-only header: its full lists are used as they are, no second request', async () => {
  const api = await fakeWith(cluster(), { ignoreMetadataAccept: true });
  const { fabric, svc } = await synced(api);
  const before = await rowVersions(fabric.id);
  api.update(obj('VPC', 'vpc-00005', 'default', { vlan: 55 }));
  const r = await svc.syncActualState(fabric);
  expect(r.counts).toMatchObject({ listed: 25, updated: 1, unchanged: 24, failed: 0 });
  expect(r.details.reads).toMatchObject({ metadataLists: 14, fullLists: 0, fullPages: 14, gets: 0 });
  // Every kind asked for metadata and got a full page; no GET and no second list.
  expect(reads(api)).toEqual({ fullLists: 14, metadataLists: 0, gets: [] });
  expect(changedRows(before, await rowVersions(fabric.id))).toEqual(['VPC/vpc-00005']);
});

test('a run rolled back at commit: nothing lands, no change is told, the record says failed, the next run finds the change again', async () => {
  const api = await fakeWith(cluster());
  const { fabric, svc } = await synced(api);
  const told: string[] = [];
  svc.on('resource', (e) => told.push(`${e.kind}/${e.name} ${e.change}`));
  const before = await rowVersions(fabric.id);
  api.update(obj('VPC', 'vpc-00006', 'default', { vlan: 66 }));
  await withPg(db.url, async (c) => {
    await c.query(`CREATE FUNCTION hh_test_meta_fail() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'injected failure at commit'; END $$`);
    await c.query(`CREATE TRIGGER hh_test_meta_fail BEFORE UPDATE OF last_actual_sync ON hedgehog_fabric
      FOR EACH ROW WHEN (NEW.id = ${fabric.id}) EXECUTE FUNCTION hh_test_meta_fail()`);
  });
  try {
    const failed = await svc.syncActualState(fabric);
    expect(failed.status).toBe('failed');
    expect(failed.errorMessage).toMatch(/injected failure at commit/);
    expect(changedRows(before, await rowVersions(fabric.id))).toEqual([]);
    expect(told).toEqual([]); // the update was written, then rolled back: it never happened
  } finally {
    await withPg(db.url, async (c) => {
      await c.query('DROP TRIGGER hh_test_meta_fail ON hedgehog_fabric');
      await c.query('DROP FUNCTION hh_test_meta_fail()');
    });
  }
  const r = await svc.syncActualState(fabric);
  expect(r.status).toBe('completed');
  expect(r.counts).toMatchObject({ updated: 1, unchanged: 24 });
  expect((await row(fabric.id, 'VPC', 'vpc-00006')).actual_spec).toEqual({ vlan: 66 });
  expect(told).toEqual(['VPC/vpc-00006 updated']);
});

test('an unchanged object whose drift is pending is settled by a metadata-only re-sync; the others stay untouched', async () => {
  const api = await fakeWith(cluster());
  const { fabric, svc } = await synced(api);
  // As a Git change leaves it until the cluster is read again (the object removed from Git, still in the cluster).
  await orm.em
    .fork()
    .getConnection()
    .execute(
      `UPDATE hedgehog_resource SET drift_status = 'deletion_pending' WHERE fabric_id = ? AND name = 'vpc-00003'`,
      [fabric.id],
    );
  const before = await rowVersions(fabric.id);
  const r = await svc.syncActualState(fabric);
  expect(r.status).toBe('completed');
  expect(r.counts).toMatchObject({ listed: 25, created: 0, updated: 0, unchanged: 25, cleared: 0, failed: 0 });
  expect(r.details.reevaluated).toBe(1);
  expect(reads(api)).toEqual({ fullLists: 0, metadataLists: 14, gets: [] });
  expect(changedRows(before, await rowVersions(fabric.id))).toEqual(['VPC/vpc-00003']);
  expect((await row(fabric.id, 'VPC', 'vpc-00003')).drift_status).not.toBe('deletion_pending');
});
