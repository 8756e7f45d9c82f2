/**
 * Issue 9, round 3: the pre-flight sees NOT NULL however PostgreSQL enforces it — by the column, by a
 * NOT NULL domain (nested too), or by a CHECK constraint that refuses NULL (even NOT VALID) — exactly as
 * the doctor does. Without that, a sync lost every good object (`✗ desired failed … 0 created`) while the
 * watch's schema gauge read 1.
 */
import 'reflect-metadata';
import type { MikroORM } from '@mikro-orm/postgresql';
import { checkLedgerSchema } from '../src/db/schema-preflight.js';
import { runSchemaDoctor } from '../src/db/schema-doctor.js';
import type { HedgehogFabric } from '../src/entities/index.js';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { FabricSyncService } from '../src/sync/fabric-sync-service.js';
import { FakeKubeApi } from '../src/testing/index.js';
import { startWatch, type WatchHandle } from '../src/watch/index.js';
import { createTestDatabase, withPg, type TestDatabase } from './helpers/database.js';
import { obj } from './helpers/kube-objects.js';

let db: TestDatabase;
let orm: MikroORM;
let api: FakeKubeApi;
let seq = 0;

const server = (name: string) => obj('Server', name, 'default', { description: name });

beforeAll(async () => {
  db = await createTestDatabase();
  orm = db.orm;
  api = new FakeKubeApi();
  api.load([server('s-1'), server('s-2')]);
  await api.start();
});
afterAll(async () => {
  // Declared as set, but unset here when the setup that assigns it failed or never ran.
  await (api as FakeKubeApi | undefined)?.stop();
  await (db as TestDatabase | undefined)?.close();
});

const ddl = (sql: string) => withPg(db.url, (c) => c.query(sql));
const service = () =>
  new FabricSyncService(orm.em, { kubeConfigFor: () => api.kubeConfig(), reader: { baseDelayMs: 5, maxDelayMs: 50 } });
const newFabric = (): Promise<HedgehogFabric> => new FabricRegistry(orm.em).create(`ck-${++seq}`);

/** The doctor's NOT NULL findings on our tables, as `table.column`. */
async function doctorNotNull(): Promise<string[]> {
  const report = await runSchemaDoctor(orm, { schema: 'public' });
  return report.findings.filter((f) => f.kind === 'not_null_without_default').map((f) => `${f.table}.${f.column}`);
}

async function withDdl(up: string, down: string, fn: () => Promise<void>): Promise<void> {
  await ddl(up);
  try {
    await fn();
  } finally {
    await ddl(down);
  }
}

test('a column of a nested NOT NULL domain without a default is found, like the doctor finds it', async () => {
  // First, while hedgehog_resource is empty: adding a NOT NULL-domain column to rows would fail.
  await withDdl(
    `CREATE DOMAIN ck_inner AS text NOT NULL; CREATE DOMAIN ck_outer AS ck_inner; ALTER TABLE hedgehog_resource ADD COLUMN tenant ck_outer`,
    `ALTER TABLE hedgehog_resource DROP COLUMN tenant; DROP DOMAIN ck_outer; DROP DOMAIN ck_inner`,
    async () => {
      const r = await checkLedgerSchema(orm.em.fork());
      expect(r).toMatchObject({
        healthy: false,
        notNullWithoutDefault: ['hedgehog_resource.tenant'],
        notNullThrough: { 'hedgehog_resource.tenant': 'domain ck_inner' },
      });
      expect(await doctorNotNull()).toEqual(r.notNullWithoutDefault);
    },
  );
  // A domain default makes the column omittable again.
  await withDdl(
    `CREATE DOMAIN ck_inner AS text NOT NULL DEFAULT 'x'; CREATE DOMAIN ck_outer AS ck_inner; ALTER TABLE hedgehog_resource ADD COLUMN tenant ck_outer`,
    `ALTER TABLE hedgehog_resource DROP COLUMN tenant; DROP DOMAIN ck_outer; DROP DOMAIN ck_inner`,
    async () => expect((await checkLedgerSchema(orm.em.fork())).healthy).toBe(true),
  );
});

test('the hostile repro: CHECK (last_sync_error IS NOT NULL) NOT VALID makes the sync refuse in one line, nothing written', async () => {
  const fabric = await newFabric();
  const svc = service();
  expect((await svc.syncActualState(fabric)).status).toBe('completed');
  api.create(server('s-3'));
  try {
    await withDdl(
      `ALTER TABLE hedgehog_resource ADD CONSTRAINT ck_x CHECK (last_sync_error IS NOT NULL) NOT VALID`,
      `ALTER TABLE hedgehog_resource DROP CONSTRAINT ck_x`,
      async () => {
        const r = await checkLedgerSchema(orm.em.fork());
        expect(r).toMatchObject({
          healthy: false,
          notNullThrough: { 'hedgehog_resource.last_sync_error': 'CHECK constraint ck_x' },
        });
        expect(r.notNullWithoutDefault).toEqual(await doctorNotNull());
        const report = await svc.syncActualState(fabric);
        expect(report.status).toBe('failed');
        expect(report.errorMessage).toMatch(
          /^ledger schema unhealthy \(NOT NULL without a default: hedgehog_resource\.last_sync_error \(through CHECK constraint ck_x\)\).*`hh-sync doctor --fix`$/,
        );
      },
    );
    // Repaired: the next run lands the new object.
    expect((await service().syncActualState(fabric)).counts).toMatchObject({ created: 1 });
  } finally {
    api.delete('Server', 'default', 's-3');
  }
});

test('table constraints with an AND-ed IS NOT NULL term count; checks that accept NULL do not', async () => {
  await withDdl(
    `ALTER TABLE hedgehog_resource ADD CONSTRAINT ck_and CHECK (sync_attempts >= 0 AND last_sync_error IS NOT NULL) NOT VALID`,
    `ALTER TABLE hedgehog_resource DROP CONSTRAINT ck_and`,
    async () =>
      expect(await checkLedgerSchema(orm.em.fork())).toMatchObject({
        healthy: false,
        notNullThrough: { 'hedgehog_resource.last_sync_error': 'CHECK constraint ck_and' },
      }),
  );
  await withDdl(
    `ALTER TABLE hedgehog_resource ADD CONSTRAINT ck_len CHECK (length(last_sync_error) < 100000), ADD CONSTRAINT ck_or CHECK (last_sync_error IS NOT NULL OR sync_attempts >= 0)`,
    `ALTER TABLE hedgehog_resource DROP CONSTRAINT ck_len, DROP CONSTRAINT ck_or`,
    async () => expect((await checkLedgerSchema(orm.em.fork())).healthy).toBe(true),
  );
  await withDdl(
    `ALTER TABLE hedgehog_resource ADD CONSTRAINT ck_coalesce CHECK (coalesce(last_sync_error, '') <> '') NOT VALID`,
    `ALTER TABLE hedgehog_resource DROP CONSTRAINT ck_coalesce`,
    async () =>
      expect((await checkLedgerSchema(orm.em.fork())).notNullWithoutDefault).toEqual([
        'hedgehog_resource.last_sync_error',
      ]),
  );
});

test('the watch gauge reads 0 while such a CHECK constraint exists', async () => {
  const fabric = await newFabric();
  let handle: WatchHandle | undefined;
  try {
    handle = await startWatch({ em: orm.em, sync: service() }, [fabric.name], {
      lease: 'in-process',
      desiredSync: false,
      metricsPort: 0,
      metricsHost: '127.0.0.1',
    });
    const gauge = async () =>
      (await (await fetch(handle!.metrics!.url)).text())
        .split('\n')
        .find((l) => l.startsWith('hh_sync_ledger_schema_healthy '));
    expect(await gauge()).toBe('hh_sync_ledger_schema_healthy 1');
    await withDdl(
      `ALTER TABLE hedgehog_resource ADD CONSTRAINT ck_x CHECK (last_sync_error IS NOT NULL) NOT VALID`,
      `ALTER TABLE hedgehog_resource DROP CONSTRAINT ck_x`,
      async () => expect(await gauge()).toBe('hh_sync_ledger_schema_healthy 0'),
    );
  } finally {
    await handle?.stop();
  }
});
