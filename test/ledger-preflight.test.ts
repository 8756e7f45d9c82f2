/**
 * The pre-flight schema check (issue 9): the incident — a NOT NULL column without a default on a ledger
 * table, or a pending migration — makes a sync refuse with one line naming the column and `hh-sync doctor
 * --fix`, recorded as a failed run, with no ledger data changed; the watch refuses to start, and its
 * `hh_sync_ledger_schema_healthy` gauge reads 0.
 */
import 'reflect-metadata';
import { jest } from '@jest/globals';
import type { MikroORM } from '@mikro-orm/postgresql';
import { checkLedgerSchema, LedgerSchemaUnhealthyError } from '../src/db/schema-preflight.js';
import { MIGRATIONS } from '../src/db/migrations-list.js';
import { MIGRATIONS_TABLE } from '../src/db/orm-base-config.js';
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

const server = (name: string, description = name) => obj('Server', name, 'default', { description });

beforeAll(async () => {
  db = await createTestDatabase();
  orm = db.orm;
  api = new FakeKubeApi();
  api.load([server('s-1'), server('s-2')]);
  await api.start();
});
afterAll(async () => {
  await api.stop();
  await db.close();
});

const ddl = (sql: string) => withPg(db.url, (c) => c.query(sql));
const service = (opts: { preflight?: boolean } = {}) =>
  new FabricSyncService(orm.em, {
    kubeConfigFor: () => api.kubeConfig(),
    reader: { baseDelayMs: 5, maxDelayMs: 50 },
    ...opts,
  });
const newFabric = (): Promise<HedgehogFabric> => new FabricRegistry(orm.em).create(`preflight-${++seq}`);

/** Every ledger row of a fabric with its row version: equal snapshots = nothing was written. */
async function ledgerRows(fabricId: number): Promise<unknown[]> {
  return orm.em
    .fork()
    .getConnection()
    .execute(`SELECT name, xmin::text AS xmin FROM hedgehog_resource WHERE fabric_id = ? ORDER BY name`, [fabricId]);
}

/** Runs `fn` with the incident's column on hedgehog_resource: added with a default, then the default dropped. */
async function withIncidentColumn(fn: () => Promise<void>): Promise<void> {
  await ddl(`ALTER TABLE hedgehog_resource ADD COLUMN tenant text NOT NULL DEFAULT 'x'`);
  await ddl(`ALTER TABLE hedgehog_resource ALTER COLUMN tenant DROP DEFAULT`);
  try {
    await fn();
  } finally {
    await ddl(`ALTER TABLE hedgehog_resource DROP COLUMN tenant`);
  }
}

test('a healthy ledger passes, in one catalog query', async () => {
  const em = orm.em.fork();
  const execute = jest.spyOn(em.getConnection(), 'execute');
  const result = await checkLedgerSchema(em);
  expect(execute).toHaveBeenCalledTimes(1);
  execute.mockRestore();
  expect(result).toEqual({
    healthy: true,
    notNullWithoutDefault: [],
    pendingMigrations: [],
    migrationsTableMissing: false,
  });
});

test('the incident: the sync refuses in one line, records a failed run, and writes no ledger data', async () => {
  const fabric = await newFabric();
  const svc = service();
  await svc.syncActualState(fabric);
  const before = await ledgerRows(fabric.id);
  expect(before).toHaveLength(2);
  api.update(server('s-1', 'changed'));
  api.create(server('s-3'));

  await withIncidentColumn(async () => {
    for (const run of [() => svc.syncActualState(fabric), () => svc.syncDesiredState(fabric)]) {
      const report = await run();
      expect(report.status).toBe('failed');
      expect(report.errorMessage).toMatch(
        /^ledger schema unhealthy \(NOT NULL without a default: hedgehog_resource\.tenant\).*`hh-sync doctor --fix`$/,
      );
      expect(report.errorMessage).not.toContain('\n');
      const [recorded] = await orm.em
        .fork()
        .getConnection()
        .execute(`SELECT status, error_message FROM sync_operation WHERE id = ?`, [report.id]);
      expect(recorded).toEqual({ status: 'failed', error_message: report.errorMessage });
    }
    expect(await ledgerRows(fabric.id)).toEqual(before);
  });
  // Repaired: the next run goes ahead (nothing was cached).
  const after = await svc.syncActualState(fabric);
  expect(after.status).toBe('completed');
  expect(after.counts).toMatchObject({ created: 1, updated: 1 });
  api.delete('Server', 'default', 's-3');
  api.update(server('s-1'));
});

test('a dropped default and a pending migration are found too; preflight: false skips the check', async () => {
  await ddl(`ALTER TABLE hedgehog_resource ALTER COLUMN drift_details DROP DEFAULT`);
  try {
    const r = await checkLedgerSchema(orm.em.fork());
    expect(r).toMatchObject({ healthy: false, notNullWithoutDefault: ['hedgehog_resource.drift_details'] });
  } finally {
    await ddl(`ALTER TABLE hedgehog_resource ALTER COLUMN drift_details SET DEFAULT '{}'`);
  }

  const last = MIGRATIONS[MIGRATIONS.length - 1]!.name;
  const [row] = (
    await withPg(db.url, (c) =>
      c.query(`DELETE FROM ${MIGRATIONS_TABLE} WHERE name LIKE $1 || '%' RETURNING *`, [last]),
    )
  ).rows;
  try {
    const r = await checkLedgerSchema(orm.em.fork());
    expect(r).toMatchObject({ healthy: false, pendingMigrations: [last] });
    const fabric = await newFabric();
    const refused = await service().syncActualState(fabric);
    expect(refused.errorMessage).toContain(`migrations not applied: ${last}`);
    expect(await ledgerRows(fabric.id)).toEqual([]);
    const unchecked = await service({ preflight: false }).syncActualState(fabric);
    expect(unchecked.status).toBe('completed');
  } finally {
    await withPg(db.url, (c) =>
      c.query(`INSERT INTO ${MIGRATIONS_TABLE} (name, executed_at) VALUES ($1, $2)`, [row.name, row.executed_at]),
    );
  }
});

test('the watch refuses to start on an unhealthy ledger; its gauge reads 1, then 0 once the schema breaks', async () => {
  const fabric = await newFabric();
  const svc = service();
  await withIncidentColumn(async () => {
    await expect(
      startWatch({ em: orm.em, sync: svc }, [fabric.name], { lease: 'in-process', desiredSync: false }),
    ).rejects.toThrow(LedgerSchemaUnhealthyError);
  });

  let handle: WatchHandle | undefined;
  try {
    handle = await startWatch({ em: orm.em, sync: svc }, [fabric.name], {
      lease: 'in-process',
      desiredSync: false,
      metricsPort: 0,
      metricsHost: '127.0.0.1',
    });
    const gauge = async () => {
      const text = await (await fetch(handle!.metrics!.url)).text();
      return text.split('\n').find((l) => l.startsWith('hh_sync_ledger_schema_healthy '));
    };
    expect(await gauge()).toBe('hh_sync_ledger_schema_healthy 1');
    await withIncidentColumn(async () => {
      expect(await gauge()).toBe('hh_sync_ledger_schema_healthy 0');
    });
  } finally {
    await handle?.stop();
  }
});
