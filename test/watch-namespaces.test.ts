/**
 * A fabric limited to some namespaces: the watch lists and watches only those, and a relist of one namespace sweeps
 * only that namespace's rows (a batch mixes namespaces; a per-namespace list says nothing about the others).
 */
import 'reflect-metadata';
import type { EntityManager } from '@mikro-orm/core';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { FabricSyncService } from '../src/sync/fabric-sync-service.js';
import { FakeKubeApi } from '../src/testing/index.js';
import { startWatch, type WatchHandle } from '../src/watch/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { fakeView, ledgerView, viewDiff, waitFor } from './helpers/watch-support.js';

let db: TestDatabase;
let em: EntityManager;
let api: FakeKubeApi;
let handle: WatchHandle | undefined;

const vpc = (name: string, namespace: string) => ({
  apiVersion: 'vpc.githedgehog.com/v1beta1',
  kind: 'VPC',
  metadata: { name, namespace },
  spec: { n: name },
});

beforeAll(async () => {
  db = await createTestDatabase();
  em = db.orm.em;
  api = new FakeKubeApi();
  api.load(['team-a', 'team-b', 'other'].flatMap((ns) => [vpc('v1', ns), vpc('v2', ns), vpc('v3', ns)]));
  await api.start();
});

afterAll(async () => {
  await handle?.stop();
  // Declared as set, but unset here when the setup that assigns it failed or never ran.
  await (api as FakeKubeApi | undefined)?.stop();
  await (db as TestDatabase | undefined)?.close();
});

test('watches only its namespaces; a 410 relist of one namespace sweeps only there', async () => {
  const fabric = await new FabricRegistry(em).create('teams', { namespaces: ['team-a', 'team-b'] });
  const sync = new FabricSyncService(em, {
    kubeConfigFor: () => api.kubeConfig(),
    reader: { baseDelayMs: 5, maxDelayMs: 50 },
  });
  const relists: string[] = [];
  handle = await startWatch({ em, sync }, ['teams'], {
    flushIntervalMs: 50,
    stallTimeoutMs: 2000,
    leasePollMs: 200,
    desiredSync: false,
    watcher: { backoff: { baseMs: 50, maxMs: 300 }, list: { baseDelayMs: 5, maxDelayMs: 50 } },
  });
  handle.on('applied', (a) => a.source === 'relist' && a.kind === 'VPC' && relists.push(a.kind));
  const expected = () => {
    const all = fakeView(api);
    return Object.fromEntries(Object.entries(all).filter(([k]) => /^VPC\/team-[ab]\//.test(k)));
  };
  const settled = async () => viewDiff(await ledgerView(em, fabric.id), expected()).length === 0;
  await waitFor(() => handle!.ready().includes('teams'), 15_000, 'ready');
  await waitFor(settled, 20_000, 'initial lists of two namespaces');
  expect(Object.keys(await ledgerView(em, fabric.id))).toHaveLength(6);
  expect(relists.length).toBeGreaterThanOrEqual(2); // one list per namespace

  // Hold the next team-a watch back, delete there and in team-b, forget the history: team-a relists (410).
  api.injectFault({ type: 'delay', ms: 300, times: 1, match: { watch: true, path: /namespaces\/team-a\// } });
  api.closeWatches();
  api.delete('VPC', 'team-a', 'v1');
  api.delete('VPC', 'team-b', 'v2');
  api.create(vpc('v9', 'team-b'));
  api.create(vpc('ignored', 'other'));
  api.compact();
  const before = relists.length;
  await waitFor(settled, 20_000, 'convergence after per-namespace relists');
  expect(relists.length).toBeGreaterThan(before); // the deletion in team-a came through a relist, not an event
  const keys = Object.keys(await ledgerView(em, fabric.id)).sort();
  expect(keys).toEqual(['VPC/team-a/v2', 'VPC/team-a/v3', 'VPC/team-b/v1', 'VPC/team-b/v3', 'VPC/team-b/v9']);
});
