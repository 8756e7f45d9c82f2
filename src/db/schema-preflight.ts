/**
 * The pre-flight schema check: before every sync run and at watch start, ONE catalog query on the ledger's
 * own tables answers the two questions that decide whether writing is safe —
 *   - is any of our columns NOT NULL without a default (the incident: every INSERT omitting it fails, and
 *     in a batch it takes every other row down)? — the schema doctor's finder, narrowed to our tables;
 *   - is any of this package's migrations not applied?
 * Nothing is cached between runs (a later bad migration must be seen by the next run); the query reads only
 * the catalog rows of four tables and the migrations table: about a millisecond (docs/cli.md).
 */
import type { EntityManager, MetadataStorage } from '@mikro-orm/core';
import { ledgerColumns, ledgerTables } from './ledger-columns.js';
import { MIGRATIONS } from './migrations-list.js';
import { MIGRATIONS_TABLE } from './orm-base-config.js';

export interface SchemaPreflight {
  healthy: boolean;
  /** `table.column` of our NOT NULL columns without a default (identity columns excepted). */
  notNullWithoutDefault: string[];
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
  if (p.notNullWithoutDefault.length) problems.push(`NOT NULL without a default: ${p.notNullWithoutDefault.join(', ')}`);
  if (p.migrationsTableMissing) problems.push('the migrations table is missing');
  else if (p.pendingMigrations.length) problems.push(`migrations not applied: ${p.pendingMigrations.join(', ')}`);
  return `ledger schema unhealthy (${problems.join('; ')}); nothing written — run \`hh-sync doctor --fix\``;
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

const NOT_NULL_WITHOUT_DEFAULT = `
array(select c.relname || '.' || a.attname
        from pg_attribute a
        join pg_class c on c.oid = a.attrelid
        join pg_namespace n on n.oid = c.relnamespace
        join pg_type t on t.oid = a.atttypid
        left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
       where n.nspname = ?::text and c.relname = any(?::text[]) and c.relkind in ('r', 'p')
         and a.attnum > 0 and not a.attisdropped and a.attnotnull
         and d.adbin is null and t.typdefault is null and a.attidentity = '' and a.attgenerated = ''
         and not exists (select 1 from pg_index i where i.indrelid = c.oid and i.indisprimary and a.attnum = any(i.indkey))
         and not (c.relname || '.' || a.attname = any(?::text[]))
       order by c.relname, a.attnum) as "notNull"`;

/** Parameters: schema, our tables, identity columns (`table.column`)[, expected migration names]. */
function preflightSql(schema: string, withMigrations: boolean): string {
  if (!withMigrations) return `select ${NOT_NULL_WITHOUT_DEFAULT}`;
  const migrations = `${ident(schema)}.${ident(MIGRATIONS_TABLE)}`;
  return `select ${NOT_NULL_WITHOUT_DEFAULT},
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
    const identity = ledgerColumns(metadata).filter((c) => c.identity).map((c) => `${c.table}.${c.column}`);
    entityParamsCache.set(metadata, (params = [pgArray(ledgerTables(metadata)), pgArray(identity)]));
  }
  return params;
}

/** Runs the check on the database `em` is connected to: one query (two when the migrations table is missing). */
export async function checkLedgerSchema(em: EntityManager): Promise<SchemaPreflight> {
  const schema = (em.config.get('schema') as string | undefined) ?? 'public';
  const params = [schema, ...entityParams(em.getMetadata())];
  const run = (withMigrations: boolean, extra: string[] = []) =>
    em.getConnection().execute(preflightSql(schema, withMigrations), [...params, ...extra], 'all') as Promise<{ notNull: string[]; pending?: string[] }[]>;
  const expected = MIGRATIONS.map((m) => m.name);
  try {
    const [row] = await run(true, [pgArray(expected)]);
    return result(row!.notNull, row!.pending!, false);
  } catch (err) {
    if ((err as { code?: string }).code !== '42P01') throw err; // undefined_table: never migrated
    const [row] = await run(false);
    return result(row!.notNull, expected, true);
  }
}

function result(notNull: string[], pending: string[], migrationsTableMissing: boolean): SchemaPreflight {
  return { healthy: notNull.length === 0 && pending.length === 0, notNullWithoutDefault: notNull, pendingMigrations: pending, migrationsTableMissing };
}

/** Throws LedgerSchemaUnhealthyError when the check fails. */
export async function assertLedgerSchemaHealthy(em: EntityManager): Promise<SchemaPreflight> {
  const result = await checkLedgerSchema(em);
  if (!result.healthy) throw new LedgerSchemaUnhealthyError(result);
  return result;
}
