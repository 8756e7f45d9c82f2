/**
 * runWatchUntilSignal (what `hh-sync watch` runs): SIGHUP syncs the desired state now, SIGTERM/SIGINT stop gracefully and
 * resolve 0, a second signal while stopping resolves 130 at once. Signals come from an EventEmitter standing in for
 * `process` (the real process signals are covered by test/watch-replicas.test.ts).
 */
import 'reflect-metadata';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { EntityManager } from '@mikro-orm/core';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { FabricSyncService } from '../src/sync/fabric-sync-service.js';
import {
  FakeKubeApi,
  commitFiles,
  createGitRepo,
  generateSampleFabric,
  toManifestFiles,
} from '../src/testing/index.js';
import { runWatchUntilSignal, type WatchHandle } from '../src/watch/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { waitFor } from './helpers/watch-support.js';

let db: TestDatabase;
let em: EntityManager;
let api: FakeKubeApi;
let repoDir: string;
let sync: FabricSyncService;
const OPTIONS = { flushIntervalMs: 50, leasePollMs: 200, watcher: { backoff: { baseMs: 50, maxMs: 300 } } };

beforeAll(async () => {
  db = await createTestDatabase();
  em = db.orm.em;
  const objects = generateSampleFabric({ targetObjects: 30, seed: 2 });
  api = new FakeKubeApi();
  api.load(objects);
  await api.start();
  repoDir = mkdtempSync(path.join(tmpdir(), 'hh-watch-cmd-'));
  await createGitRepo(repoDir, toManifestFiles(objects));
  sync = new FabricSyncService(em, {
    kubeConfigFor: () => api.kubeConfig(),
    reader: { baseDelayMs: 5, maxDelayMs: 50 },
  });
  await new FabricRegistry(em).create('cmd', { gitRepository: repoDir, syncIntervalSeconds: 3600 });
});

afterAll(async () => {
  // Declared as set, but unset here when the setup that assigns it failed or never ran.
  await (api as FakeKubeApi | undefined)?.stop();
  await (db as TestDatabase | undefined)?.close();
  if (repoDir) rmSync(repoDir, { recursive: true, force: true });
});

test('SIGHUP re-reads Git now; SIGTERM stops gracefully and resolves 0; the handlers are removed', async () => {
  const signals = new EventEmitter();
  let handle: WatchHandle | undefined;
  const commits: (string | null)[] = [];
  const done = runWatchUntilSignal({ em, sync }, ['cmd'], {
    ...OPTIONS,
    signals,
    onStart: (h) => {
      handle = h;
      h.on('desired', (d) => commits.push(d.report.commit));
    },
  });
  await waitFor(
    () => !!handle && handle.ready().includes('cmd') && commits.length === 1,
    15_000,
    'ready and first desired sync',
  );
  expect(signals.listenerCount('SIGHUP')).toBe(1);
  const next = await commitFiles(repoDir, { 'fabric/extra.yaml': null, 'README.md': 'a new commit\n' });
  signals.emit('SIGHUP');
  await waitFor(() => commits.length === 2, 10_000, 'desired sync on SIGHUP');
  expect(commits[1]).toBe(next);
  signals.emit('SIGTERM');
  expect(await done).toBe(0);
  expect(handle!.held()).toEqual([]);
  expect(['SIGINT', 'SIGTERM', 'SIGHUP'].map((s) => signals.listenerCount(s))).toEqual([0, 0, 0]);
});

test('a second stop signal while stopping resolves 130 without waiting', async () => {
  const signals = new EventEmitter();
  let handle: WatchHandle | undefined;
  const done = runWatchUntilSignal({ em, sync }, ['cmd'], {
    ...OPTIONS,
    desiredSync: false,
    signals,
    onStart: (h) => (handle = h),
  });
  await waitFor(() => !!handle && handle.held().includes('cmd'), 10_000, 'held');
  signals.emit('SIGINT');
  signals.emit('SIGINT');
  expect(await done).toBe(130);
  await handle!.stop(); // the graceful stop still completes in the background
  expect(handle!.held()).toEqual([]);
});

test('an unknown fabric rejects before anything starts', async () => {
  await expect(
    runWatchUntilSignal({ em, sync }, ['nope'], { ...OPTIONS, signals: new EventEmitter() }),
  ).rejects.toThrow(/no fabric named "nope"/);
});
