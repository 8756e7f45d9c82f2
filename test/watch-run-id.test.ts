/**
 * Every state transition the watch writes names the watch run (sync_operation) it belongs to: "when did server-03-01
 * disappear, and in which run?" has an answer for deletions seen by the watch too (issue 9).
 */
import 'reflect-metadata';
import type { EntityManager } from '@mikro-orm/core';
import type { HedgehogFabric } from '../src/entities/index.js';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { FabricSyncService } from '../src/sync/fabric-sync-service.js';
import { resourceHistory } from '../src/sync/history.js';
import type { SyncRunReport } from '../src/sync/run-recorder.js';
import { FakeKubeApi } from '../src/testing/index.js';
import { startWatch, type WatchHandle } from '../src/watch/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { waitFor } from './helpers/watch-support.js';
import { obj } from './helpers/kube-objects.js';

const server = (name: string) => obj('Server', name, 'default', { description: name });

let db: TestDatabase;
let em: EntityManager;
let api: FakeKubeApi;
let fabric: HedgehogFabric;
let handle: WatchHandle | undefined;

beforeAll(async () => {
  db = await createTestDatabase();
  em = db.orm.em;
  api = new FakeKubeApi();
  api.load([server('server-03-01'), server('server-03-02')]);
  await api.start();
  fabric = await new FabricRegistry(em).create('watch-run-id');
});

afterAll(async () => {
  await handle?.stop();
  await api.stop();
  await db.close();
});

async function sql<T = any>(text: string, params: unknown[] = []): Promise<T[]> {
  return em
    .fork()
    .getConnection()
    .execute(text, params as any[]);
}

test("a deletion seen by the watch is recorded with the watch run's id", async () => {
  const sync = new FabricSyncService(em, {
    kubeConfigFor: () => api.kubeConfig(),
    reader: { baseDelayMs: 5, maxDelayMs: 50 },
  });
  const runs: SyncRunReport[] = [];
  handle = await startWatch({ em, sync }, [fabric.name], {
    flushIntervalMs: 50,
    leasePollMs: 200,
    runWindowMs: 60_000, // one window for the whole test
    desiredSync: false,
    retry: { baseMs: 50, maxMs: 500 },
    watcher: { backoff: { baseMs: 50, maxMs: 500 }, list: { baseDelayMs: 5, maxDelayMs: 50 } },
  });
  handle.on('run', (r) => runs.push(r.report));
  await waitFor(() => handle!.ready().includes(fabric.name), 15_000, 'ready');

  api.delete('Server', 'default', 'server-03-01');
  const deleted = async () =>
    (await resourceHistory(em.fork(), fabric.name, { kind: 'Server', name: 'server-03-01' })).find(
      (h) => h.to === 'deleted',
    );
  await waitFor(async () => !!(await deleted()), 5000, 'the deletion in the history');
  await handle.stop();
  handle = undefined;

  const watchRuns = await sql<{ id: number }>(
    `SELECT id FROM sync_operation WHERE fabric_id = ? AND type = 'watch' ORDER BY id`,
    [fabric.id],
  );
  expect(watchRuns).toHaveLength(1);
  const runId = watchRuns[0]!.id;
  expect(runs.map((r) => r.id)).toEqual([runId]);
  const transition = (await deleted())!;
  expect(transition).toMatchObject({ trigger: 'watch', runId });
  // The relist's transitions (the objects first seen) name the run as well: none is left without one.
  const unnamed = await sql(`SELECT id FROM state_transition WHERE fabric_id = ? AND sync_operation_id IS NULL`, [
    fabric.id,
  ]);
  expect(unnamed).toEqual([]);
});
