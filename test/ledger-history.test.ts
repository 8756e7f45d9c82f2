/**
 * Ledger semantics (issue 9): first_seen is written once, by whichever source first reports an object;
 * a deleted object keeps an auditable history (a `deleted` transition with trigger and run id) that outlives
 * its row; counter columns cannot go negative.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { MikroORM } from '@mikro-orm/postgresql';
import { HedgehogFabric } from '../src/entities/index.js';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { kindInfo } from '../src/kube/catalog.js';
import type { ActualObservation } from '../src/observations.js';
import { FabricSyncService } from '../src/sync/fabric-sync-service.js';
import { resourceHistory } from '../src/sync/history.js';
import { FakeKubeApi, commitFiles, createGitRepo } from '../src/testing/index.js';
import { applyWatchWrite } from '../src/watch/watch-writer.js';
import { createTestDatabase, withPg, type TestDatabase } from './helpers/database.js';
import { obj } from './helpers/kube-objects.js';

let db: TestDatabase;
let orm: MikroORM;
const apis: FakeKubeApi[] = [];
const tmp = mkdtempSync(path.join(tmpdir(), 'hh-ledger-history-'));
let seq = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  orm = db.orm;
});
afterAll(async () => {
  await Promise.all(apis.map((a) => a.stop()));
  await db.close();
  rmSync(tmp, { recursive: true, force: true });
});

const server = (name: string, description = name) => obj('Server', name, 'default', { description });

const serverYaml = (name: string) => `apiVersion: wiring.githedgehog.com/v1beta1
kind: Server
metadata:
  name: ${name}
spec:
  description: ${name}
`;

async function fake(objs: object[]): Promise<FakeKubeApi> {
  const api = new FakeKubeApi();
  api.load(objs);
  await api.start();
  apis.push(api);
  return api;
}

async function newFabric(settings: Parameters<FabricRegistry['create']>[1] = {}): Promise<HedgehogFabric> {
  return new FabricRegistry(orm.em).create(`ledger-${++seq}`, settings);
}

const service = (api?: FakeKubeApi) =>
  new FabricSyncService(orm.em, { kubeConfigFor: () => api!.kubeConfig(), reader: { baseDelayMs: 5, maxDelayMs: 50 } });

async function sql<T = any>(text: string, params: unknown[] = []): Promise<T[]> {
  return orm.em.fork().getConnection().execute(text, params);
}

/** first_seen and xmin (the row version: it changes whenever the row is rewritten) of every row of a fabric. */
async function snapshot(fabricId: number): Promise<Map<string, { firstSeen: number | null; xmin: string }>> {
  const rows = await sql(`SELECT name, first_seen, xmin::text AS xmin FROM hedgehog_resource WHERE fabric_id = ?`, [
    fabricId,
  ]);
  return new Map(
    rows.map((r) => [r.name, { firstSeen: r.first_seen ? new Date(r.first_seen).getTime() : null, xmin: r.xmin }]),
  );
}

async function runStartedAt(runId: number): Promise<number> {
  const [r] = await sql(`SELECT started_at FROM sync_operation WHERE id = ?`, [runId]);
  return new Date(r.started_at).getTime();
}

describe('first_seen', () => {
  test('actual sync: set on creation from the run, kept on update, a no-op re-sync rewrites no row', async () => {
    const api = await fake([server('s-1'), server('s-2')]);
    const fabric = await newFabric();
    const svc = service(api);
    const first = await svc.syncActualState(fabric);
    const before = await snapshot(fabric.id);
    const t1 = before.get('s-1')!.firstSeen!;
    expect(t1).not.toBeNull();
    // The run's timestamp: inside the run, not later.
    expect(t1).toBeGreaterThanOrEqual(await runStartedAt(first.id));
    expect(t1).toBeLessThanOrEqual(new Date(first.finishedAt!).getTime());

    const noop = await svc.syncActualState(fabric);
    expect(noop.counts).toMatchObject({ created: 0, updated: 0, unchanged: 2 });
    expect(await snapshot(fabric.id)).toEqual(before); // xmin unchanged: not one row rewritten

    api.update(server('s-1', 'changed'));
    api.create(server('s-3'));
    await svc.syncActualState(fabric);
    const after = await snapshot(fabric.id);
    expect(after.get('s-1')!.firstSeen).toBe(t1);
    expect(after.get('s-1')!.xmin).not.toBe(before.get('s-1')!.xmin);
    expect(after.get('s-3')!.firstSeen).toBeGreaterThan(t1);
  });

  test('desired sync: set on creation, kept when the cluster later reports the object and on Git changes', async () => {
    const dir = path.join(tmp, `repo-${++seq}`);
    await createGitRepo(dir, { 'servers.yaml': serverYaml('g-1') });
    const api = await fake([]);
    const fabric = await newFabric({ gitRepository: dir });
    const svc = service(api);
    const run = await svc.syncDesiredState(fabric);
    const before = await snapshot(fabric.id);
    const t1 = before.get('g-1')!.firstSeen!;
    expect(t1).toBeGreaterThanOrEqual(await runStartedAt(run.id));

    const noop = await svc.syncDesiredState(fabric);
    expect(noop.counts).toMatchObject({ created: 0, updated: 0, unchanged: 1 });
    expect(await snapshot(fabric.id)).toEqual(before);

    api.create(server('g-1'));
    await svc.syncActualState(fabric);
    await commitFiles(dir, { 'servers.yaml': serverYaml('g-1').replace('description: g-1', 'description: edited') });
    await svc.syncDesiredState(fabric);
    expect((await snapshot(fabric.id)).get('g-1')!.firstSeen).toBe(t1);
  });

  test("the watch's write path sets it once as well", async () => {
    const fabric = await newFabric();
    const svc = service();
    const kind = kindInfo('Server')!;
    const obs = (rv: string, description: string): ActualObservation => ({
      kind: 'Server',
      namespace: 'default',
      name: 'w-1',
      apiVersion: 'wiring.githedgehog.com/v1beta1',
      spec: { description },
      status: null,
      labels: {},
      annotations: {},
      uid: 'uid-w-1',
      resourceVersion: rv,
    });
    const write = (o: ActualObservation) =>
      applyWatchWrite(
        svc.actualKindWriter,
        orm.em,
        fabric,
        { source: 'batch', batch: { kind, upserts: [o], deletes: [], errors: [] } },
        {
          stillHolds: () => Promise.resolve(true),
          schemaDefaults: new Map(),
          refreshSummary: true,
          current: true,
          lockTimeoutMs: 5000,
        },
      );
    const before = Date.now();
    await write(obs('1', 'a'));
    const t1 = (await snapshot(fabric.id)).get('w-1')!.firstSeen!;
    expect(t1).toBeGreaterThanOrEqual(before - 1000);
    await write(obs('2', 'b'));
    expect((await snapshot(fabric.id)).get('w-1')!.firstSeen).toBe(t1);
  });
});

describe('history of deleted objects', () => {
  test('cluster-side deletion: a deleted transition with trigger and run id, surviving the row; recreation continues it', async () => {
    const api = await fake([server('server-03-01'), server('server-03-02')]);
    const fabric = await newFabric();
    const svc = service(api);
    const created = await svc.syncActualState(fabric);
    api.delete('Server', 'default', 'server-03-01');
    const gone = await svc.syncActualState(fabric);
    expect(gone.counts.cleared).toBe(1);

    expect(
      await sql(`SELECT id FROM hedgehog_resource WHERE fabric_id = ? AND name = 'server-03-01'`, [fabric.id]),
    ).toEqual([]);
    const history = await resourceHistory(orm.em.fork(), fabric.name, { kind: 'Server', name: 'server-03-01' });
    expect(history.map((h) => [h.from, h.to, h.trigger, h.runId, h.resourceId])).toEqual([
      [null, 'orphaned', 'sync_actual', created.id, null],
      ['orphaned', 'deleted', 'sync_actual', gone.id, null],
    ]);
    expect(history[1]!.reason).toMatch(/deleted from the cluster/);
    // The other object's history still belongs to its live row.
    const other = await resourceHistory(orm.em.fork(), fabric.id, {
      kind: 'Server',
      namespace: 'default',
      name: 'server-03-02',
    });
    expect(other).toHaveLength(1);
    expect(other[0]!.resourceId).not.toBeNull();
    // Readers count only live objects.
    const f = await orm.em.fork().findOneOrFail(HedgehogFabric, fabric.id);
    expect((f.kindCounts as any).Server.total).toBe(1);
    const report = await svc.driftReport(fabric);
    expect(report.summary.total).toBe(1);

    api.create(server('server-03-01'));
    const back = await svc.syncActualState(fabric);
    expect(back.counts.created).toBe(1);
    const again = await resourceHistory(orm.em.fork(), fabric.name, { kind: 'Server', name: 'server-03-01' });
    expect(again.map((h) => [h.from, h.to, h.runId])).toEqual([
      [null, 'orphaned', created.id],
      ['orphaned', 'deleted', gone.id],
      [null, 'orphaned', back.id],
    ]);
    expect(again[2]!.resourceId).not.toBeNull();
  });

  test('a deletion and recreation between two reads (new uid, same state) is recorded too', async () => {
    const api = await fake([server('s-uid')]);
    const fabric = await newFabric();
    const svc = service(api);
    await svc.syncActualState(fabric);
    const oldUid = api.get('Server', 'default', 's-uid')!.metadata.uid;
    api.delete('Server', 'default', 's-uid');
    api.create(server('s-uid'));
    const newUid = api.get('Server', 'default', 's-uid')!.metadata.uid;
    const run = await svc.syncActualState(fabric);
    const history = await resourceHistory(orm.em.fork(), fabric.name, { kind: 'Server', name: 's-uid' });
    expect(history.map((h) => [h.from, h.to, h.runId])).toEqual([
      [null, 'orphaned', history[0]!.runId],
      ['orphaned', 'orphaned', run.id],
    ]);
    expect(history[1]!.reason).toBe(`deleted and recreated in the cluster (uid ${oldUid} → ${newUid})`);
    expect(history[1]!.context).toEqual({ oldUid, newUid });
  });

  test('Git-side removal of an object the cluster does not have: deleted, by the desired run', async () => {
    const dir = path.join(tmp, `repo-${++seq}`);
    await createGitRepo(dir, { 'a.yaml': serverYaml('g-gone'), 'b.yaml': serverYaml('g-kept') });
    const fabric = await newFabric({ gitRepository: dir });
    const svc = service();
    const declared = await svc.syncDesiredState(fabric);
    await commitFiles(dir, { 'a.yaml': null });
    const removed = await svc.syncDesiredState(fabric);
    const history = await resourceHistory(orm.em.fork(), fabric.name, { kind: 'Server', name: 'g-gone' });
    expect(history.map((h) => [h.from, h.to, h.trigger, h.runId])).toEqual([
      [null, 'pending', 'sync_desired', declared.id], // declared, the cluster never read
      ['pending', 'deleted', 'sync_desired', removed.id],
    ]);
    expect(history[1]!.reason).toBe('removed from the repository (was a.yaml)');
  });

  test('watch deletion is recorded with the watch trigger; removing the fabric removes its detached history', async () => {
    const fabric = await newFabric();
    const svc = service();
    const kind = kindInfo('Server')!;
    const opts = {
      stillHolds: () => Promise.resolve(true),
      schemaDefaults: new Map(),
      refreshSummary: true,
      current: true,
      lockTimeoutMs: 5000,
    };
    const o: ActualObservation = {
      kind: 'Server',
      namespace: 'default',
      name: 'w-del',
      apiVersion: 'wiring.githedgehog.com/v1beta1',
      spec: {},
      status: null,
      labels: {},
      annotations: {},
      uid: 'u',
      resourceVersion: '1',
    };
    await applyWatchWrite(
      svc.actualKindWriter,
      orm.em,
      fabric,
      { source: 'batch', batch: { kind, upserts: [o], deletes: [], errors: [] } },
      opts,
    );
    await applyWatchWrite(
      svc.actualKindWriter,
      orm.em,
      fabric,
      { source: 'batch', batch: { kind, upserts: [], deletes: [{ namespace: 'default', name: 'w-del' }], errors: [] } },
      opts,
    );
    const history = await resourceHistory(orm.em.fork(), fabric.name, { kind: 'Server', name: 'w-del' });
    expect(history.map((h) => [h.to, h.trigger, h.runId])).toEqual([
      ['orphaned', 'watch', null],
      ['deleted', 'watch', null],
    ]);

    expect(await new FabricRegistry(orm.em).remove(fabric.name)).toBe(true);
    expect(await sql(`SELECT id FROM state_transition WHERE fabric_id = ?`, [fabric.id])).toEqual([]);
  });
});

describe('counter columns', () => {
  const counters: [string, string][] = [
    ['hedgehog_resource', 'sync_attempts'],
    ['hedgehog_resource', 'reconciliation_attempts'],
    ['hedgehog_fabric', 'drifted_count'],
    ['hedgehog_fabric', 'in_sync_count'],
    ...['listed', 'created', 'updated', 'unchanged', 'cleared', 'failed'].map((c): [string, string] => [
      'sync_operation',
      c,
    ]),
  ];

  test.each(counters)('%s.%s rejects a negative value', async (table, column) => {
    await withPg(db.url, async (c) => {
      const fabric = (
        await c.query(`INSERT INTO hedgehog_fabric (name) VALUES ($1) RETURNING id`, [`counter-${++seq}`])
      ).rows[0].id;
      await c.query(`INSERT INTO hedgehog_resource (fabric_id, kind, name) VALUES ($1, 'VPC', 'v')`, [fabric]);
      await c.query(`INSERT INTO sync_operation (fabric_id) VALUES ($1)`, [fabric]);
      const idColumn = table === 'hedgehog_fabric' ? 'id' : 'fabric_id';
      await expect(c.query(`UPDATE ${table} SET ${column} = -1 WHERE ${idColumn} = $1`, [fabric])).rejects.toThrow(
        /check constraint/,
      );
      await c.query(`UPDATE ${table} SET ${column} = 0 WHERE ${idColumn} = $1`, [fabric]); // zero stays valid
    });
  });
});
