/**
 * An object already in the ledger whose new version in the cluster PostgreSQL cannot store (NUL, lone surrogate)
 * is refused — one error entry — and its row keeps the last version read. That row must not pass for current:
 * it is marked (last_sync_error says why), a full sync never sweeps it as if it had disappeared, `drift` names it
 * as stale, and the mark clears when a valid version lands. Both paths: a one-shot actual sync and the watch.
 * Runs on PostgreSQL and on PGlite.
 */
import 'reflect-metadata';
import type { EntityManager } from '@mikro-orm/core';
import pc from 'picocolors';
import type { HedgehogFabric } from '../src/entities/index.js';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { formatDriftReport } from '../src/cli/drift-table.js';
import { driftJson } from '../src/cli/json-shapes.js';
import { driftReport } from '../src/sync/drift-report.js';
import { FABRIC_SYNC_STATUS_SQL } from '../src/store/fabrics.js';
import { FabricSyncService } from '../src/sync/fabric-sync-service.js';
import { FakeKubeApi } from '../src/testing/index.js';
import { startWatch, type WatchEvents, type WatchHandle } from '../src/watch/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { obj, vpcs } from './helpers/kube-objects.js';
import { waitFor } from './helpers/watch-support.js';
import { hh } from './helpers/cli-in-process.js';

let db: TestDatabase;
let em: EntityManager;
const apis: FakeKubeApi[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  em = db.orm.em;
});
afterAll(async () => {
  await Promise.all(apis.map((a) => a.stop()));
  // Declared as set, but unset here when the setup that assigns it failed or never ran.
  await (db as TestDatabase | undefined)?.close();
});

async function fakeWith(objs: readonly object[]): Promise<FakeKubeApi> {
  const api = new FakeKubeApi();
  api.load(objs);
  await api.start();
  apis.push(api);
  return api;
}

interface RowView {
  actual_spec: Record<string, unknown> | null;
  actual_resource_version: string | null;
  last_sync_error: string | null;
}

async function row(fabricId: number, name: string): Promise<RowView | undefined> {
  const [r] = await em
    .fork()
    .getConnection()
    .execute(
      `SELECT actual_spec, actual_resource_version, last_sync_error FROM hedgehog_resource WHERE fabric_id = ? AND kind = 'VPC' AND namespace = 'default' AND name = ?`,
      [fabricId, name],
    );
  return r as RowView | undefined;
}

describe('a full actual sync', () => {
  let fabric: HedgehogFabric;
  let api: FakeKubeApi;
  let sync: FabricSyncService;

  beforeAll(async () => {
    api = await fakeWith([...vpcs(2), obj('VPC', 'vpc-01', 'default', { n: 1 })]);
    sync = new FabricSyncService(em, {
      kubeConfigFor: () => api.kubeConfig(),
      reader: { baseDelayMs: 1, maxDelayMs: 5, maxRetries: 1 },
    });
    fabric = await new FabricRegistry(em).create('refused-full');
    await sync.syncActualState(fabric.name);
  });

  test("keeps the refused object's row (not swept), marks it, and drift names it as stale", async () => {
    const before = await row(fabric.id, 'vpc-01');
    expect(before).toMatchObject({ actual_spec: { n: 1 }, last_sync_error: null });

    api.update(obj('VPC', 'vpc-01', 'default', { description: 'a\u0000b' }));
    const report = await sync.syncActualState(fabric.name);
    expect(report.errors.filter((e) => e.name === 'vpc-01')).toHaveLength(1);
    expect(report.counts.failed).toBe(1);
    expect(report.counts.cleared).toBe(0); // present but unreadable is not gone

    const after = await row(fabric.id, 'vpc-01');
    expect(after?.actual_spec).toEqual({ n: 1 }); // the last version read, still there
    expect(after?.actual_resource_version).toBe(before!.actual_resource_version);
    expect(after?.last_sync_error).toMatch(
      /could not be read \(spec\.description contains a NUL character .*\); this row holds the last version read$/,
    );
    expect((await row(fabric.id, 'vpc-00000'))?.last_sync_error).toBeNull();

    const drift = await driftReport(em.fork(), fabric);
    expect(drift.unreadable).toEqual([
      { kind: 'VPC', namespace: 'default', name: 'vpc-01', reason: after!.last_sync_error },
    ]);
    expect(driftJson(drift).unreadable).toHaveLength(1);
    const text = formatDriftReport(drift, pc.createColors(false));
    expect(text).toMatch(/^1 object could not be read \(their drift is as of an older version\):$/m);
    expect(text).toMatch(
      /^ {2}VPC default\/vpc-01 — the cluster's current version could not be read \(spec\.description contains a NUL character /m,
    );
    // A kind filter that excludes it leaves it out.
    expect((await driftReport(em.fork(), fabric, { kind: ['Server'] })).unreadable).toEqual([]);
  });

  test('the fabric is never shown in_sync while a row is stale', async () => {
    const conn = em.fork().getConnection();
    const [summary] = await conn.execute(`SELECT drift_summary->'unreadable' AS n FROM hedgehog_fabric WHERE id = ?`, [
      fabric.id,
    ]);
    expect(Number(summary.n)).toBe(1);
    // Even with no drifted object at all (this fabric has no Git side, so every object drifts: take that away).
    await conn.execute(`UPDATE hedgehog_fabric SET drifted_count = 0 WHERE id = ?`, [fabric.id]);
    await conn.execute(`UPDATE hedgehog_fabric SET sync_status = ${FABRIC_SYNC_STATUS_SQL} WHERE id = ?`, [fabric.id]);
    const [status] = await conn.execute(`SELECT sync_status FROM hedgehog_fabric WHERE id = ?`, [fabric.id]);
    expect(status.sync_status).toBe('out_of_sync');
  });

  test('hh-sync drift names it, in text and --json; --exit-code counts it as a finding', async () => {
    const text = await hh(['drift', fabric.name, '--status', 'in_sync', '--exit-code', '--database-url', db.url]);
    expect(text.stdout).toMatch(/1 object could not be read[^\n]*\n {2}VPC default\/vpc-01 — /);
    expect(text.code).toBe(1); // nothing differs with this filter, yet the ledger cannot vouch for vpc-01
    const json = await hh(['drift', fabric.name, '--json', '--database-url', db.url]);
    expect(JSON.parse(json.stdout).unreadable).toEqual([
      { kind: 'VPC', namespace: 'default', name: 'vpc-01', reason: expect.stringMatching(/NUL character/) },
    ]);
  });

  test('the mark clears when a valid version lands', async () => {
    api.update(obj('VPC', 'vpc-01', 'default', { n: 2 }));
    const report = await sync.syncActualState(fabric.name);
    expect(report.errors).toEqual([]);
    expect(await row(fabric.id, 'vpc-01')).toMatchObject({ actual_spec: { n: 2 }, last_sync_error: null });
    const drift = await driftReport(em.fork(), fabric);
    expect(drift.unreadable).toEqual([]);
    expect(formatDriftReport(drift, pc.createColors(false))).not.toMatch(/could not be read/);
    const [summary] = await em
      .fork()
      .getConnection()
      .execute(`SELECT drift_summary->'unreadable' AS n FROM hedgehog_fabric WHERE id = ?`, [fabric.id]);
    expect(Number(summary.n)).toBe(0);
  });

  test('an object refused on its first read gets no row (nothing readable to put in it)', async () => {
    api.create(obj('VPC', 'vpc-new-bad', 'default', { description: '\ud800' }));
    await sync.syncActualState(fabric.name);
    expect(await row(fabric.id, 'vpc-new-bad')).toBeUndefined();
  });
});

describe('the watch', () => {
  let fabric: HedgehogFabric;
  let api: FakeKubeApi;
  let handle: WatchHandle;
  const runs: WatchEvents['run'][0][] = [];

  beforeAll(async () => {
    api = await fakeWith([...vpcs(1), obj('VPC', 'vpc-w', 'default', { n: 1 })]);
    const sync = new FabricSyncService(em, {
      kubeConfigFor: () => api.kubeConfig(),
      reader: { baseDelayMs: 5, maxDelayMs: 50 },
    });
    fabric = await new FabricRegistry(em).create('refused-watch');
    handle = await startWatch({ em, sync }, ['refused-watch'], {
      flushIntervalMs: 50,
      stallTimeoutMs: 5000,
      leasePollMs: 200,
      runWindowMs: 300,
      summaryIntervalMs: 200,
      retry: { baseMs: 50, maxMs: 500 },
      watcher: { backoff: { baseMs: 50, maxMs: 500 }, list: { baseDelayMs: 5, maxDelayMs: 50 } },
    });
    handle.on('run', (r) => runs.push(r));
    await waitFor(() => handle.ready().includes('refused-watch'), 15_000, 'ready');
  }, 30_000);

  afterAll(async () => {
    // Declared as set, but unset here when the setup that assigns it failed or never ran.
    await (handle as WatchHandle | undefined)?.stop();
  });

  test('a refused MODIFIED event marks the row, which keeps its last version; a valid one clears the mark', async () => {
    await waitFor(async () => (await row(fabric.id, 'vpc-w'))?.actual_spec?.n === 1, 5000, 'vpc-w in the ledger');
    const before = await row(fabric.id, 'vpc-w');

    api.update(obj('VPC', 'vpc-w', 'default', { n: 1 }, { metadata: { labels: { k: 'v\u0000' } } }));
    await waitFor(async () => (await row(fabric.id, 'vpc-w'))?.last_sync_error != null, 5000, 'the mark on vpc-w');
    const marked = await row(fabric.id, 'vpc-w');
    expect(marked?.last_sync_error).toMatch(
      /could not be read \(MODIFIED event: metadata\.labels\.k contains a NUL character/,
    );
    expect(marked?.actual_resource_version).toBe(before!.actual_resource_version);
    expect((await driftReport(em.fork(), fabric)).unreadable.map((u) => u.name)).toEqual(['vpc-w']);
    await waitFor(
      () => runs.flatMap((r) => r.report.errors).some((e) => e.name === 'vpc-w'),
      5000,
      'the refusal in a run record',
    );

    api.update(obj('VPC', 'vpc-w', 'default', { n: 3 }));
    await waitFor(async () => (await row(fabric.id, 'vpc-w'))?.actual_spec?.n === 3, 5000, 'the valid version');
    expect((await row(fabric.id, 'vpc-w'))?.last_sync_error).toBeNull();
    expect((await driftReport(em.fork(), fabric)).unreadable).toEqual([]);
  });

  test('a valid change followed by a refused one (one batch or two): the row ends marked, never passing for current', async () => {
    api.update(obj('VPC', 'vpc-w', 'default', { n: 4 }));
    api.update(obj('VPC', 'vpc-w', 'default', { description: 'x\ud800' }));
    await waitFor(async () => (await row(fabric.id, 'vpc-w'))?.last_sync_error != null, 5000, 'the mark on vpc-w');
    expect((await row(fabric.id, 'vpc-w'))?.last_sync_error).toMatch(
      /spec\.description contains a lone UTF-16 surrogate/,
    );
    expect((await driftReport(em.fork(), fabric)).unreadable.map((u) => u.name)).toEqual(['vpc-w']);
  });
});
