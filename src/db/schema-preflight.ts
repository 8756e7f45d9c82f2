/**
 * The pre-flight schema check: before every sync run and at watch start, ONE catalog query on the ledger's
 * own tables answers the two questions that decide whether writing is safe —
 *   - is any of our columns NOT NULL without a default (the incident: every INSERT omitting it fails, and
 *     in a batch it takes every other row down)? — the schema doctor's finder, narrowed to our tables;
 *   - is any of this package's migrations not applied?
 * Nothing is cached between runs (a later bad migration must be seen by the next run); the query reads only
 * the catalog rows of the ledger's tables, the domains and the migrations table: a few milliseconds (docs/cli.md).
 */
import type { EntityManager, MetadataStorage } from '@mikro-orm/core';
import { ledgerColumns, ledgerTables } from './ledger-columns.js';
import { MIGRATION_NAMES } from './migration-names.js';
import { MIGRATIONS_TABLE } from './orm-core-config.js';
import { columnKey, columnsRequiredByChecks, type CheckConstraint } from './check-not-null.js';
import { sqlIdent, type SqlExec } from './default-repair.js';

export interface SchemaPreflight {
  healthy: boolean;
  /**
   * `table.column` of our columns that refuse NULL but have no default (identity columns excepted): NOT NULL
   * by the column, by a NOT NULL domain, or by a CHECK constraint — the schema doctor's finding.
   */
  notNullWithoutDefault: string[];
  /** For those refusing NULL other than by the column itself: `table.column` → `domain d` / `CHECK constraint c`. */
  notNullThrough?: Record<string, string>;
  /** This package's migrations the database has not applied. */
  pendingMigrations: string[];
  /** The migrations table is missing: the ledger was never migrated. */
  migrationsTableMissing: boolean;
}

/** The ledger's schema would make writes fail (or lacks migrations): the run or watch refuses to start. */
export class LedgerSchemaUnhealthyError extends Error {
  constructor(readonly preflight: SchemaPreflight) {
    super(describeProblems(preflight));
    this.name = 'LedgerSchemaUnhealthyError';
  }
}

function describeProblems(p: SchemaPreflight): string {
  const problems: string[] = [];
  const column = (c: string) => (p.notNullThrough?.[c] ? `${c} (through ${p.notNullThrough[c]})` : c);
  if (p.notNullWithoutDefault.length)
    problems.push(`NOT NULL without a default: ${p.notNullWithoutDefault.map(column).join(', ')}`);
  if (p.migrationsTableMissing) problems.push('the migrations table is missing');
  else if (p.pendingMigrations.length) problems.push(`migrations not applied: ${p.pendingMigrations.join(', ')}`);
  return `ledger schema unhealthy (${problems.join('; ')}); nothing written — run \`hh-sync doctor --fix\``;
}

/**
 * The columns an INSERT of ours may omit (no default of their own or of a domain; not a key, identity or
 * generated column) — `optional` — with whether NULL is refused anyway: by the column or by a domain in
 * its type's chain (nested domains included), as the schema doctor sees it (doctor-catalog.ts).
 */
const OMITTABLE_COLUMNS = `
with recursive domain_chain(domain_oid, type_oid, depth) as (
  -- Every domain's chain of types, walked once (not per column): the few domains a database has.
  select t.oid, t.oid, 0 from pg_type t where t.typtype = 'd'
  union all
  select ch.domain_oid, t.typbasetype, ch.depth + 1 from domain_chain ch join pg_type t on t.oid = ch.type_oid where t.typtype = 'd'
), domains as (
  select ch.domain_oid,
         (array_agg(format_type(t.oid, null) order by ch.depth) filter (where t.typnotnull))[1] as not_null_domain,
         bool_or(t.typdefault is not null) as domain_default
    from domain_chain ch join pg_type t on t.oid = ch.type_oid
   group by ch.domain_oid
), omittable as (
  select c.oid as relid, c.relname as tbl, a.attname as col, a.attnum,
         a.attnotnull, dom.not_null_domain
    from pg_attribute a
    join pg_class c on c.oid = a.attrelid
    join pg_namespace n on n.oid = c.relnamespace
    left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    left join domains dom on dom.domain_oid = a.atttypid
   where n.nspname = ?::text and c.relname = any(?::text[]) and c.relkind in ('r', 'p')
     and a.attnum > 0 and not a.attisdropped
     and d.adbin is null and not coalesce(dom.domain_default, false) and a.attidentity = '' and a.attgenerated = ''
     and not exists (select 1 from pg_index i where i.indrelid = c.oid and i.indisprimary and a.attnum = any(i.indkey))
     and not (c.relname || '.' || a.attname = any(?::text[]))
)`;

/**
 * `notNull`: omittable columns that refuse NULL by the column or a domain ({column, through}).
 * `checks`: the CHECK constraints touching an omittable column that accepts NULL by itself — whether they
 * refuse NULL is decided as the doctor decides it (check-not-null.ts); a healthy ledger has none of them.
 */
const NOT_NULL_WITHOUT_DEFAULT = `
coalesce((select json_agg(json_build_object('column', o.tbl || '.' || o.col,
                                            'through', case when o.attnotnull then null else 'domain ' || o.not_null_domain end)
                          order by o.tbl, o.attnum)
            from omittable o where o.attnotnull or o.not_null_domain is not null), '[]') as "notNull",
coalesce((select json_agg(json_build_object('table', k.tbl, 'name', k.conname, 'def', k.def, 'columns', k.columns, 'types', k.types, 'nullable', k.nullable))
            from (select c.relname as tbl, x.conname, pg_get_constraintdef(x.oid) as def,
                         array(select a.attname::text from pg_attribute a where a.attrelid = x.conrelid and a.attnum = any(x.conkey) order by a.attnum) as columns,
                         array(select format_type(a.atttypid, a.atttypmod) from pg_attribute a where a.attrelid = x.conrelid and a.attnum = any(x.conkey) order by a.attnum) as types,
                         array(select o.col::text from omittable o where o.relid = x.conrelid and o.attnum = any(x.conkey)
                                  and not o.attnotnull and o.not_null_domain is null) as nullable
                    from pg_constraint x join pg_class c on c.oid = x.conrelid
                   where x.contype = 'c'
                     and exists (select 1 from omittable o where o.relid = x.conrelid and o.attnum = any(x.conkey)
                                    and not o.attnotnull and o.not_null_domain is null)) k), '[]') as checks`;

/** Parameters: schema, our tables, identity columns (`table.column`)[, expected migration names]. */
function preflightSql(schema: string, withMigrations: boolean): string {
  if (!withMigrations) return `${OMITTABLE_COLUMNS} select ${NOT_NULL_WITHOUT_DEFAULT}`;
  const migrations = `${sqlIdent(schema)}.${sqlIdent(MIGRATIONS_TABLE)}`;
  return `${OMITTABLE_COLUMNS} select ${NOT_NULL_WITHOUT_DEFAULT},
    array(select m from unnest(?::text[]) as m
           where m not in (select regexp_replace(name, '\\.[jt]s$', '') from ${migrations})) as pending`;
}

const pgArray = (items: readonly string[]) => `{${items.map((i) => `"${i}"`).join(',')}}`;

/**
 * Our tables and identity columns as query parameters, derived once per metadata: they come from the entities
 * (code), not from the database, so keeping them hides nothing a later migration could change.
 */
const entityParamsCache = new WeakMap<MetadataStorage, [string, string]>();
function entityParams(metadata: MetadataStorage): [string, string] {
  let params = entityParamsCache.get(metadata);
  if (!params) {
    const identity = ledgerColumns(metadata)
      .filter((c) => c.identity)
      .map((c) => `${c.table}.${c.column}`);
    entityParamsCache.set(metadata, (params = [pgArray(ledgerTables(metadata)), pgArray(identity)]));
  }
  return params;
}

interface PreflightRow {
  notNull: { column: string; through: string | null }[];
  checks: (Omit<CheckConstraint, 'schema'> & { types: string[]; nullable: string[] })[];
  pending?: string[];
}

/**
 * Runs the check on the database `em` is connected to: one catalog query (two when the migrations table is
 * missing), plus one probe per CHECK constraint that may refuse NULL in a nullable column without a default
 * (none on a healthy ledger).
 */
export async function checkLedgerSchema(em: EntityManager): Promise<SchemaPreflight> {
  const schema = em.config.get('schema') ?? 'public';
  const params = [schema, ...entityParams(em.getMetadata())];
  const connection = em.getConnection();
  const run = (withMigrations: boolean, extra: string[] = []) =>
    connection.execute(preflightSql(schema, withMigrations), [...params, ...extra], 'all') as Promise<PreflightRow[]>;
  const exec: SqlExec = (sql, p = []) => connection.execute(sql, p as never[], 'all') as never;
  const expected = [...MIGRATION_NAMES];
  let row: PreflightRow;
  let migrationsTableMissing = false;
  try {
    [row] = (await run(true, [pgArray(expected)])) as [PreflightRow];
  } catch (err) {
    if ((err as { code?: string }).code !== '42P01') throw err; // undefined_table: never migrated
    [row] = (await run(false)) as [PreflightRow];
    row.pending = expected;
    migrationsTableMissing = true;
  }
  const notNull = [...row.notNull, ...(await requiredByChecks(exec, schema, row.checks))];
  return result(notNull, row.pending!, migrationsTableMissing);
}

/** The nullable columns without a default that a CHECK constraint makes required, decided as the doctor does. */
async function requiredByChecks(
  exec: SqlExec,
  schema: string,
  rows: PreflightRow['checks'],
): Promise<PreflightRow['notNull']> {
  if (rows.length === 0) return [];
  const types = new Map<string, string>();
  const candidates = new Set<string>();
  for (const r of rows) {
    r.columns.forEach((column, i) => types.set(columnKey(schema, r.table, column), r.types[i]!));
    for (const column of r.nullable) candidates.add(columnKey(schema, r.table, column));
  }
  const checks = rows.map(({ table, name, def, columns }) => ({ schema, table, name, def, columns }));
  const required = await columnsRequiredByChecks(exec, checks, (key) => types.get(key));
  return [...required]
    .filter(([key]) => candidates.has(key))
    .map(([key, name]) => ({ column: key.slice(schema.length + 1), through: `CHECK constraint ${name}` }));
}

function result(notNull: PreflightRow['notNull'], pending: string[], migrationsTableMissing: boolean): SchemaPreflight {
  const through = Object.fromEntries(notNull.filter((n) => n.through !== null).map((n) => [n.column, n.through!]));
  return {
    healthy: notNull.length === 0 && pending.length === 0,
    notNullWithoutDefault: notNull.map((n) => n.column),
    ...(Object.keys(through).length ? { notNullThrough: through } : {}),
    pendingMigrations: pending,
    migrationsTableMissing,
  };
}

/** Throws LedgerSchemaUnhealthyError when the check fails. */
export async function assertLedgerSchemaHealthy(em: EntityManager): Promise<SchemaPreflight> {
  const result = await checkLedgerSchema(em);
  if (!result.healthy) throw new LedgerSchemaUnhealthyError(result);
  return result;
}
