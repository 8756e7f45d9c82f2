/**
 * The ORM-emitted migrations and the entities agree: from an empty database,
 * up → the ORM's update-schema SQL is empty → down to zero (nothing of ours left)
 * → up again → empty again. The committed snapshot matches the entities (what
 * `mikro-orm migration:check` verifies), and every migration file is listed for
 * the compiled package.
 */
import { readdirSync } from 'node:fs';
import { Entity, PrimaryKey } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/postgresql';
import { ALL_ENTITIES } from '../src/entities/index.js';
import { MIGRATIONS, MIGRATIONS_DIR, MIGRATIONS_TABLE, createBaseOrmConfig } from '../src/db/orm-config.js';
import { createTestDatabase, withPg, type TestDatabase } from './helpers/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
});
afterAll(async () => {
  // Unset when beforeAll failed; Jest still runs afterAll.
  await (db as TestDatabase | undefined)?.close();
});

async function updateSchemaSql(orm: MikroORM): Promise<string[]> {
  const sql = await orm.schema.getUpdateSchemaSQL({ wrap: false, safe: false, dropTables: true });
  return sql
    .split(/;\s*\n/)
    .map((s) => s.trim())
    .filter((s) => s && !/^set names/i.test(s));
}

async function userTables(): Promise<string[]> {
  return withPg(db.url, async (c) =>
    (
      await c.query(
        `select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
      )
    ).rows.map((r) => r.table_name as string),
  );
}

test('every migration file is in the compiled-in list, in order, and its class is named after its file', () => {
  const files = readdirSync(MIGRATIONS_DIR)
    .filter((f) => /^Migration\d{14}.*\.ts$/.test(f) && !f.endsWith('.d.ts'))
    .map((f) => f.replace(/\.ts$/, ''))
    .sort();
  expect(MIGRATIONS.map((m) => m.name)).toEqual(files);
  for (const m of MIGRATIONS) expect((m.class as { name: string }).name).toBe(m.name);
});

test('empty database → up → no schema difference → down to zero → up again', async () => {
  const migrator = db.orm.migrator;
  expect((await migrator.getPendingMigrations()).map((m) => m.name)).toEqual(MIGRATIONS.map((m) => m.name));

  const applied = await migrator.up();
  expect(applied.map((m) => m.name)).toEqual(MIGRATIONS.map((m) => m.name));
  expect(await updateSchemaSql(db.orm)).toEqual([]);
  const tables = db.orm.getMetadata();
  for (const e of ALL_ENTITIES) expect(await userTables()).toContain(tables.get(e.name).tableName);

  const reverted = await migrator.down({ to: 0 });
  expect(reverted).toHaveLength(MIGRATIONS.length);
  // Nothing of ours is left but MikroORM's own bookkeeping table.
  expect(await userTables()).toEqual([MIGRATIONS_TABLE]);
  expect(await migrator.getExecutedMigrations()).toEqual([]);

  await migrator.up();
  expect(await updateSchemaSql(db.orm)).toEqual([]);
  expect(await migrator.getPendingMigrations()).toEqual([]);
});

test('the committed snapshot matches the entities (migration:check)', async () => {
  const orm = await MikroORM.init(
    createBaseOrmConfig(db.url, {
      pool: { min: 0, max: 1 },
      migrations: { path: MIGRATIONS_DIR, snapshot: true, silent: true },
    }),
  );
  try {
    expect(await orm.migrator.checkMigrationNeeded()).toBe(false);
  } finally {
    await orm.close(true);
  }
});

@Entity({ tableName: 'probe_not_in_migrations' })
class ProbeNotInMigrations {
  @PrimaryKey({ type: 'integer' })
  id!: number;
}

test('migration:check notices an entity change that no migration covers', async () => {
  const orm = await MikroORM.init(
    createBaseOrmConfig(db.url, {
      entities: [...ALL_ENTITIES, ProbeNotInMigrations],
      pool: { min: 0, max: 1 },
      migrations: { path: MIGRATIONS_DIR, snapshot: true, silent: true },
    }),
  );
  try {
    expect(await orm.migrator.checkMigrationNeeded()).toBe(true);
  } finally {
    await orm.close(true);
  }
});
