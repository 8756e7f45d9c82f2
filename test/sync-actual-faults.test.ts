/**
 * The database connection dies in the middle of an actual sync: the previous snapshot stays intact,
 * the run is recorded as failed, and the next run converges. Runs on PostgreSQL and on PGlite.
 */
import 'reflect-metadata';
import { MikroORM } from '@mikro-orm/postgresql';
import { createOrmConfig } from '../src/db/orm-config.js';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { FabricSyncService } from '../src/sync/fabric-sync-service.js';
import { FakeKubeApi, generateSampleFabric } from '../src/testing/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';

let db: TestDatabase;
let proxy: TcpProxy;
// What init() returns: a core MikroORM (its own class), not an instance of the PostgreSQL subclass.
let orm: Awaited<ReturnType<typeof MikroORM.init>>;
let api: FakeKubeApi;

beforeAll(async () => {
  db = await createTestDatabase();
  proxy = await startTcpProxy(db.url);
  orm = await MikroORM.init(createOrmConfig(proxy.url, db.embedded ? { pool: { min: 0, max: 1 } } : {}));
  api = new FakeKubeApi();
  api.load(generateSampleFabric({ targetObjects: 200, seed: 11 }));
  await api.start();
});
afterAll(async () => {
  await api.stop();
  await orm.close(true);
  await proxy.close();
  await db.close();
});

const snapshot = async () =>
  db.orm.em
    .fork()
    .getConnection()
    .execute(
      `SELECT kind, namespace, name, actual_spec, actual_resource_version FROM hedgehog_resource ORDER BY kind, namespace, name`,
    );

test('connection killed mid-write: previous snapshot intact, run failed, next run converges', async () => {
  const fabric = await new FabricRegistry(orm.em).create('cut');
  const svc = new FabricSyncService(orm.em, {
    kubeConfigFor: () => api.kubeConfig(),
    reader: { baseDelayMs: 5, maxDelayMs: 20 },
  });
  expect((await svc.syncActualState(fabric)).status).toBe('completed');
  const before = await snapshot();

  // Change objects of early kinds (written first in the run) and of the last kind.
  for (const kind of ['VPC', 'Connection', 'VLANNamespace']) {
    const o = structuredClone(api.list(kind)[0]!);
    (o.metadata as any).labels = { ...(o.metadata as any).labels, changed: 'yes' };
    api.update(o);
  }
  // The last kind's list is slow; while the run waits for it, the database connection dies.
  api.injectFault({ type: 'delay', ms: 400, times: 1, match: { plural: 'vlannamespaces' } });
  // Cut as soon as the fake has received that list request, i.e. mid-transaction, after earlier kinds were written.
  api.clearRequests();
  const cut = setInterval(() => {
    if (api.requests.some((r) => r.path.includes('vlannamespaces'))) {
      clearInterval(cut);
      proxy.cutAll();
    }
  }, 2);
  const failed = await svc.syncActualState(fabric);
  clearInterval(cut);
  expect(failed.status).toBe('failed');
  expect(failed.errorMessage).toBeTruthy();
  expect(await snapshot()).toEqual(before);
  const [rec] = await db.orm.em
    .fork()
    .getConnection()
    .execute(`SELECT status, error_message FROM sync_operation WHERE id = ?`, [failed.id]);
  expect(rec!.status).toBe('failed');

  const next = await svc.syncActualState(fabric);
  expect(next.status).toBe('completed');
  expect(next.counts.updated).toBe(3);
  const after = await db.orm.em
    .fork()
    .getConnection()
    .execute(`SELECT count(*)::int AS n FROM hedgehog_resource WHERE labels->>'changed' = 'yes'`);
  expect(after[0]!.n).toBe(3);
});
