/**
 * A database that stops answering in the middle of a run (it accepted the connection and answered the first
 * statements, then a proxy stops forwarding): the statement in flight fails after the client-side statement
 * timeout, its connection is closed, the run ends `failed` with one line saying so, and the fabric lock dies
 * with the connection — the next run takes it at once. Runs on PostgreSQL and on PGlite.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openLedger } from '../src/ledger.js';
import { createGitRepo } from '../src/testing/index.js';
import { messageLines, runCli } from './helpers/cli.js';
import { openDatabase, type OpenedDatabase } from '../src/db/open-database.js';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { FabricSyncService } from '../src/sync/fabric-sync-service.js';
import { FakeKubeApi } from '../src/testing/index.js';
import { describeWithServer, createEmptyDatabase, createTestDatabase, type TestDatabase } from './helpers/database.js';
import { obj, vpcs } from './helpers/kube-objects.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';

let db: TestDatabase;
let proxy: TcpProxy;
let viaProxy: OpenedDatabase;
let api: FakeKubeApi;

beforeAll(async () => {
  db = await createTestDatabase();
  proxy = await startTcpProxy(db.url);
  viaProxy = await openDatabase({
    url: proxy.url,
    migrate: false,
    statementTimeoutMs: 400,
    connectTimeoutMs: 400,
    ormOptions: db.embedded ? { pool: { min: 0, max: 1 } } : {},
  });
  api = new FakeKubeApi();
  api.load([...vpcs(3), obj('Switch', 'sw-1')]);
  await api.start();
});
afterAll(async () => {
  await api.stop();
  await viaProxy.close();
  await proxy.close();
  await db.close();
});

test('the database goes silent mid-run: the run fails in bounded time with one line, and the fabric lock is released', async () => {
  const fabric = await new FabricRegistry(db.orm.em).create('frozen');
  const svc = new FabricSyncService(viaProxy.orm.em, {
    kubeConfigFor: () => api.kubeConfig(),
    reader: { baseDelayMs: 1, maxDelayMs: 5 },
  });

  // The last kind's list is slow; while the run waits for it (inside its data transaction), the database goes silent.
  api.injectFault({ type: 'delay', ms: 300, times: 1, match: { plural: 'vlannamespaces' } });
  const freeze = setInterval(() => {
    if (api.requests.some((r) => r.path.includes('vlannamespaces'))) {
      clearInterval(freeze);
      proxy.freeze();
    }
  }, 2);
  const t0 = Date.now();
  const run = await svc.syncActualState(fabric);
  clearInterval(freeze);

  expect(Date.now() - t0).toBeLessThan(8_000);
  expect(run.status).toBe('failed');
  expect(run.errorMessage).toMatch(/the database did not answer a statement within 0.4 s \(statement timeout\)/);
  expect(run.errorMessage).not.toMatch(/\n/);

  // The lock died with the connection: a run on a healthy connection takes it at once.
  const next = await new FabricSyncService(db.orm.em, {
    kubeConfigFor: () => api.kubeConfig(),
    lockTimeoutMs: 2_000,
  }).syncActualState(fabric);
  expect(next.errorMessage).toBeNull();
  expect(next.status).toBe('completed');
  expect(next.counts.created).toBe(4);
});

// The CLI opens a pool of several connections: PGlite serves one at a time, so this needs a PostgreSQL server.
describeWithServer('the CLI against a database gone silent mid-run (PostgreSQL server)', () => {
  test('sync --statement-timeout: one JSON document, exit 3, the process ends', async () => {
    const empty = await createEmptyDatabase();
    const silentProxy = await startTcpProxy(empty.url);
    const tmp = mkdtempSync(path.join(tmpdir(), 'hh-db-frozen-'));
    try {
      const repo = path.join(tmp, 'repo');
      await createGitRepo(repo, {
        'vpc.yaml': 'apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: vpc-1\nspec: {}\n',
      });
      const ledger = await openLedger({ databaseUrl: empty.url, createDatabase: true });
      await ledger.fabrics.create('dc1', { gitRepository: repo });
      await ledger.close();

      let frozen = false;
      const r = await runCli(
        [
          'sync',
          'dc1',
          '--desired',
          '--json',
          '--connect-timeout',
          '0.5',
          '--statement-timeout',
          '0.5',
          '--database-url',
          silentProxy.url,
        ],
        {
          timeoutMs: 30_000,
          onStderr: (chunk) => {
            if (!frozen && /reading the desired state/.test(chunk)) {
              frozen = true;
              silentProxy.freeze();
            }
          },
        },
      );
      expect(frozen).toBe(true);
      expect(r.code).toBe(3);
      const doc = JSON.parse(r.stdout);
      const text = JSON.stringify(doc);
      expect(text).toMatch(/did not answer a statement within 0.5 s|no answer within 0.5 s/);
      for (const line of messageLines(r.stderr)) expect(line.length).toBeLessThan(400);
    } finally {
      await silentProxy.close();
      await empty.drop();
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('an invalid --statement-timeout is a usage error', async () => {
    const r = await runCli([
      'fabric',
      'list',
      '--statement-timeout',
      '-1',
      '--database-url',
      'postgres://127.0.0.1:1/x',
    ]);
    expect(r.code).toBe(2);
    expect(messageLines(r.stderr)[0]).toMatch(/--statement-timeout "-1": must be a number of seconds greater than 0/);
  });
});
