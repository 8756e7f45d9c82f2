/**
 * Operating the watch, end to end in this process (fake API + the test database): after runs, the metrics a
 * platform team alerts on are exported with the right labels (reconcile histogram, last successful sync, fabric
 * info, cluster and database connection status, drift by status and severity, process metrics); /healthz and
 * /readyz answer beside /metrics; every run outcome is logged, a partial one with its problem count.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { EntityManager } from '@mikro-orm/core';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { FabricSyncService } from '../src/sync/fabric-sync-service.js';
import {
  FakeKubeApi,
  commitFiles,
  createGitRepo,
  generateSampleFabric,
  toManifestFiles,
} from '../src/testing/index.js';
import { startWatch, type WatchHandle } from '../src/watch/index.js';
import { WATCH_METRIC_NAMES } from '../src/watch/metrics.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { waitFor } from './helpers/watch-support.js';

let db: TestDatabase;
let em: EntityManager;
let api: FakeKubeApi;
let handle: WatchHandle;
let repoDir: string;
const logLines: string[] = [];
const logs = () => logLines.map((l) => JSON.parse(l) as Record<string, unknown>);

/** A KubeConfig for an API server that is not there (a closed port on loopback). */
function unreachableCluster(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'gone', server: 'http://127.0.0.1:1', skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'gone', cluster: 'gone', user: 'u' }],
    currentContext: 'gone',
  });
  return kc;
}

async function scrape(): Promise<string> {
  const res = await fetch(handle.metrics!.url);
  expect(res.status).toBe(200);
  return res.text();
}

/** The samples of one metric as `{labels} value` strings, e.g. `{fabric="dc1",type="desired"} 1`. */
function samples(text: string, name: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .map((l) => l.slice(name.length));
}

beforeAll(async () => {
  db = await createTestDatabase();
  em = db.orm.em;
  const objects = generateSampleFabric({ targetObjects: 40, seed: 13 });
  api = new FakeKubeApi();
  api.load(objects);
  await api.start();
  repoDir = mkdtempSync(path.join(tmpdir(), 'hh-watch-ops-git-'));
  await createGitRepo(repoDir, toManifestFiles(objects));
  const sync = new FabricSyncService(em, {
    kubeConfigFor: (f) => (f.name === 'dark' ? unreachableCluster() : api.kubeConfig()),
    reader: { baseDelayMs: 5, maxDelayMs: 50 },
  });
  const registry = new FabricRegistry(em);
  await registry.create('ops', { gitRepository: repoDir, syncIntervalSeconds: 3600 });
  // Its watch never starts (the cluster does not answer), so its Git source is never read: it is for the info metric.
  await registry.create('dark', { gitRepository: 'https://git.example.com/net/fabric.git', gitRef: 'main' });
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
  handle = await startWatch({ em, sync }, ['ops', 'dark'], {
    flushIntervalMs: 50,
    leasePollMs: 100,
    runWindowMs: 300,
    summaryIntervalMs: 100,
    retry: { baseMs: 50, maxMs: 200 },
    watcher: { backoff: { baseMs: 50, maxMs: 200 }, list: { baseDelayMs: 5, maxDelayMs: 50 } },
    metricsPort: 0,
    metricsHost: '127.0.0.1',
    logger,
  });
});

afterAll(async () => {
  await (handle as WatchHandle | undefined)?.stop();
  await (api as FakeKubeApi | undefined)?.stop();
  await (db as TestDatabase | undefined)?.close();
  if (repoDir) rmSync(repoDir, { recursive: true, force: true });
});

test('after a desired run and a watch window: reconcile histogram, last success, info, drift and connection metrics', async () => {
  await waitFor(() => handle.ready().includes('ops'), 15_000, 'ops ready');
  await waitFor(
    () => logs().some((l) => l.type === 'desired' && l.status === 'completed'),
    15_000,
    'a completed desired run',
  );
  // A change in the cluster opens a watch window; it closes (and is logged) after runWindowMs.
  const vpc = api.list('VPC')[0]!;
  api.apply({ ...vpc, metadata: { ...vpc.metadata, labels: { touched: 'yes' } } });
  await waitFor(() => logs().some((l) => l.type === 'watch' && l.status === 'completed'), 15_000, 'a watch window');
  await waitFor(
    async () => samples(await scrape(), 'hh_sync_cluster_connected').includes('{fabric="dark"} 0'),
    15_000,
    'dark cluster reported down',
  );

  const text = await scrape();
  expect(samples(text, 'hh_sync_reconcile_duration_seconds_count')).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^\{fabric="ops",type="desired"\} [1-9]/),
      expect.stringMatching(/^\{fabric="ops",type="watch"\} [1-9]/),
    ]),
  );
  const lastDesired = samples(text, 'hh_sync_last_successful_sync_timestamp_seconds').find((s) =>
    s.startsWith('{fabric="ops",type="desired"}'),
  );
  const lastWatch = samples(text, 'hh_sync_last_successful_sync_timestamp_seconds').find((s) =>
    s.startsWith('{fabric="ops",type="watch"}'),
  );
  for (const s of [lastDesired, lastWatch]) {
    const seconds = Number(s?.split(' ')[1]);
    expect(Math.abs(seconds - Date.now() / 1000)).toBeLessThan(120);
  }
  // Nothing for the fabric whose cluster never answered: no success is invented.
  expect(text).not.toMatch(/hh_sync_last_successful_sync_timestamp_seconds\{fabric="dark",type="watch"\}/);

  expect(samples(text, 'hh_sync_fabric_info')).toEqual(
    expect.arrayContaining([
      `{fabric="ops",git="${repoDir}",ref=""} 1`,
      '{fabric="dark",git="https://git.example.com/net/fabric.git",ref="main"} 1',
    ]),
  );
  expect(samples(text, 'hh_sync_cluster_connected')).toEqual(
    expect.arrayContaining(['{fabric="ops"} 1', '{fabric="dark"} 0']),
  );
  expect(samples(text, 'hh_sync_database_connected')).toEqual([' 1']);
  const drift = samples(text, 'hh_sync_drift_objects').filter((s) => s.startsWith('{fabric="ops"'));
  const total = drift.reduce((n, s) => n + Number(s.split(' ')[1]), 0);
  expect(total).toBe(api.list().length);
  expect(drift).toEqual(
    expect.arrayContaining([expect.stringMatching(/^\{fabric="ops",drift_status="in_sync",severity="none"\} \d+/)]),
  );
  // Node's default process metrics are in the same registry.
  expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
  expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds /m);
  // Every hh_sync_ metric the code documents is exported (held fabrics and probes included).
  const exported = new Set([...text.matchAll(/^# TYPE (hh_sync_\w+) /gm)].map((m) => m[1]));
  expect([...exported].sort()).toEqual([...WATCH_METRIC_NAMES].sort());
});

test('/healthz and /readyz answer beside /metrics', async () => {
  const base = handle.metrics!.url.replace('/metrics', '');
  const health = await fetch(`${base}/healthz`);
  expect(health.status).toBe(200);
  expect(await health.json()).toMatchObject({ status: 'ok' });
  const ready = await fetch(`${base}/readyz`);
  expect(ready.status).toBe(200);
  expect(await ready.json()).toEqual({
    status: 'ready',
    checks: [
      { name: 'database', ok: true },
      { name: 'schema', ok: true },
      { name: 'lease', ok: true },
    ],
  });
  const other = await fetch(`${base}/nope`);
  expect(other.status).toBe(404);
  expect(await other.text()).toMatch(/\/healthz, \/readyz/);
});

test('a partial desired run is logged at warn with its problem count', async () => {
  // The same VPC declared in a second file: a conflict, so the run is partial with one problem.
  const vpc = api.list('VPC')[0]!;
  const files = toManifestFiles(api.list() as Parameters<typeof toManifestFiles>[0]);
  const original = Object.entries(files).find(([, text]) => text.includes(`name: ${vpc.metadata.name}\n`));
  expect(original).toBeDefined();
  await commitFiles(repoDir, { 'again/dup.yaml': original![1] }, { message: 'declare objects twice' });
  const reports = await handle.syncDesiredNow();
  const report = reports.find((r) => r.fabric === 'ops')!;
  expect(report.status).toBe('partial');
  const line = logs().find((l) => l.type === 'desired' && l.run === report.id)!;
  expect(line).toMatchObject({ level: 40, fabric: 'ops', status: 'partial' });
  expect(line.problems).toBeGreaterThan(0);
  expect(line.msg).toBe(
    `desired run ${report.id} of fabric "ops" partial: ${String(line.problems)} problem${line.problems === 1 ? '' : 's'}`,
  );
  expect(line.problems).toBe(report.errors.length);
  // And the histogram counted it under its type.
  const text = await scrape();
  expect(samples(text, 'hh_sync_runs_total')).toEqual(
    expect.arrayContaining([expect.stringMatching(/^\{fabric="ops",type="desired",status="partial"\} 1/)]),
  );
});

test('every run the ledger recorded for the watch is in the log, once, with its status', async () => {
  await handle.stop();
  const rows = await em
    .fork()
    .getConnection()
    .execute<{ id: number; type: string; status: string }[]>(
      `SELECT so.id, so.type, so.status FROM sync_operation so JOIN hedgehog_fabric f ON f.id = so.fabric_id WHERE f.name = 'ops' ORDER BY so.id`,
    );
  const logged = logs().filter((l) => typeof l.run === 'number' && l.fabric === 'ops');
  expect(rows.length).toBeGreaterThanOrEqual(3);
  for (const row of rows) {
    const lines = logged.filter((l) => l.run === row.id);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ type: row.type, status: row.status });
  }
});
