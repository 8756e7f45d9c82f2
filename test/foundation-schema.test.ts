/**
 * The live schema, the entity metadata and `new Entity()` agree on every column:
 * no NOT NULL column without a default outside the identity columns, the same
 * default everywhere, and an INSERT of the identity columns alone succeeds.
 */
import { ALL_ENTITIES, IDENTITY_COLUMNS } from '../src/entities/index.js';
import { ledgerColumns, ledgerTables, type LedgerColumn } from '../src/db/ledger-columns.js';
import { createTestDatabase, withPg, type TestDatabase } from './helpers/database.js';
import { ifSetUp } from './helpers/if-set-up.js';

let db: TestDatabase;
let columns: LedgerColumn[];

beforeAll(async () => {
  db = await createTestDatabase();
  columns = ledgerColumns(db.orm.getMetadata());
});
afterAll(async () => {
  await ifSetUp(db)?.close();
});

interface LiveColumn {
  table: string;
  column: string;
  type: string;
  not_null: boolean;
  default_expr: string | null;
  is_pk: boolean;
}

async function liveColumns(): Promise<LiveColumn[]> {
  return withPg(
    db.url,
    async (c) =>
      (
        await c.query<LiveColumn>(
          `
        select c.relname as "table", a.attname as "column", format_type(a.atttypid, a.atttypmod) as type,
               a.attnotnull as not_null, pg_get_expr(d.adbin, d.adrelid) as default_expr,
               exists (select 1 from pg_index i where i.indrelid = c.oid and i.indisprimary and a.attnum = any(i.indkey)) as is_pk
          from pg_attribute a
          join pg_class c on c.oid = a.attrelid
          join pg_namespace n on n.oid = c.relnamespace
          left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
         where n.nspname = 'public' and c.relname = any($1) and a.attnum > 0 and not a.attisdropped
         order by c.relname, a.attnum`,
          [ledgerTables(db.orm.getMetadata())],
        )
      ).rows,
  );
}

test('the four ledger tables exist with exactly the entity columns', async () => {
  const live = await liveColumns();
  const liveSet = live.map((c) => `${c.table}.${c.column}`).sort();
  const metaSet = columns.map((c) => `${c.table}.${c.column}`).sort();
  expect(liveSet).toEqual(metaSet);
  expect(new Set(live.map((c) => c.table))).toEqual(
    new Set(['hedgehog_fabric', 'hedgehog_resource', 'sync_operation', 'state_transition', 'fabric_crd_schema']),
  );
});

test('catalog: no NOT NULL column without a default outside the primary key and identity columns', async () => {
  const live = await liveColumns();
  const offenders = live
    .filter((c) => c.not_null && c.default_expr === null && !c.is_pk)
    .map((c) => `${c.table}.${c.column}`)
    .filter((name) => {
      const [table, column] = name.split('.') as [string, string];
      return !(IDENTITY_COLUMNS[table] ?? []).includes(column);
    });
  expect(offenders).toEqual([]);
  // The identity columns really are the required ones (and nothing hides behind the allow-list).
  const required = live
    .filter((c) => c.not_null && c.default_expr === null && !c.is_pk)
    .map((c) => `${c.table}.${c.column}`);
  expect(required.sort()).toEqual(
    Object.entries(IDENTITY_COLUMNS)
      .flatMap(([t, cols]) => cols.map((c) => `${t}.${c}`))
      .sort(),
  );
});

test('every non-identity column is NOT NULL with a default or nullable without one', () => {
  for (const c of columns) {
    if (c.primary || c.identity) continue;
    const shape = c.nullable ? 'nullable' : 'defaulted';
    if (shape === 'nullable')
      expect({ column: `${c.table}.${c.column}`, default: c.defaultSql }).toEqual({
        column: `${c.table}.${c.column}`,
        default: null,
      });
    else
      expect({ column: `${c.table}.${c.column}`, hasDefault: c.defaultSql !== null }).toEqual({
        column: `${c.table}.${c.column}`,
        hasDefault: true,
      });
  }
});

test('metadata default equals the live column default (compared by PostgreSQL) for every property', async () => {
  const live = new Map((await liveColumns()).map((c) => [`${c.table}.${c.column}`, c]));
  const mismatches: string[] = [];
  await withPg(db.url, async (client) => {
    for (const c of columns) {
      if (c.primary) continue;
      const l = live.get(`${c.table}.${c.column}`)!;
      if (c.defaultSql === null || l.default_expr === null) {
        if (c.defaultSql !== l.default_expr)
          mismatches.push(`${c.table}.${c.column}: ${c.defaultSql} vs ${l.default_expr}`);
        continue;
      }
      const { rows } = await client.query(
        `select (${l.default_expr})::${l.type} is not distinct from (${c.defaultSql})::${l.type} as same`,
      );
      if (rows[0].same !== true) mismatches.push(`${c.table}.${c.column}: ${c.defaultSql} vs ${l.default_expr}`);
      // The default is an expression, never a quoted 'now()' string frozen at migration time.
      expect(l.default_expr).not.toMatch(/'now\(\)'/i);
    }
  });
  expect(mismatches).toEqual([]);
});

/** Inserts a row with only the identity columns via raw SQL and returns it. */
async function insertIdentityOnly(): Promise<Record<string, Record<string, unknown>>> {
  return withPg(db.url, async (c) => {
    const fabric = (await c.query(`insert into hedgehog_fabric (name) values ('raw-fabric') returning *`)).rows[0];
    const resource = (
      await c.query(`insert into hedgehog_resource (fabric_id, kind, name) values ($1, 'VPC', 'raw-vpc') returning *`, [
        fabric.id,
      ])
    ).rows[0];
    const operation = (await c.query(`insert into sync_operation (fabric_id) values ($1) returning *`, [fabric.id]))
      .rows[0];
    const transition =
      // resource_id is not identity: history outlives its resource row (null after the row is deleted).
      (
        await c.query(`insert into state_transition (fabric_id, to_state) values ($1, 'draft') returning *`, [
          fabric.id,
        ])
      ).rows[0];
    const crdSchema = (
      await c.query(
        `insert into fabric_crd_schema (fabric_id, kind, crd_name) values ($1, 'VPC', 'vpcs.vpc.githedgehog.com') returning *`,
        [fabric.id],
      )
    ).rows[0];
    return {
      hedgehog_fabric: fabric,
      hedgehog_resource: resource,
      sync_operation: operation,
      state_transition: transition,
      fabric_crd_schema: crdSchema,
    };
  });
}

test('raw INSERT with only the identity columns succeeds for every table, and the row equals new Entity()', async () => {
  const before = Date.now();
  const rows = await insertIdentityOnly();
  const after = Date.now();
  const metadata = db.orm.getMetadata();
  for (const entity of ALL_ENTITIES) {
    const meta = metadata.get(entity.name);
    const row = rows[meta.tableName];
    expect(row).toBeDefined();
    const fresh = new (entity as unknown as new () => Record<string, unknown>)();
    for (const c of columns.filter((col) => col.table === meta.tableName)) {
      if (c.primary || c.identity) continue;
      const dbValue = row![c.column];
      const modelValue = fresh[c.property];
      const where = `${c.table}.${c.column}`;
      if (modelValue instanceof Date) {
        // now(): both the database and the model stamp the current time.
        expect({ where, isDate: dbValue instanceof Date }).toEqual({ where, isDate: true });
        expect((dbValue as Date).getTime()).toBeGreaterThanOrEqual(before - 5000);
        expect((dbValue as Date).getTime()).toBeLessThanOrEqual(after + 5000);
        expect(c.defaultSql).toBe('now()');
      } else {
        expect({ where, value: dbValue }).toEqual({ where, value: modelValue });
      }
    }
  }
});

test('the schema holds no credential column', () => {
  const suspicious = columns.filter((c) => /token|password|secret|credential|certificate|private_key/i.test(c.column));
  expect(suspicious).toEqual([]);
});
