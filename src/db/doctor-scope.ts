/**
 * The doctor refuses to examine a schema or table that does not exist: a report
 * about nothing would say "healthy".
 */
import type { SqlExec } from './default-repair.js';

/** The schema or table to examine does not exist (or is ambiguous): nothing was examined. */
export class DoctorScopeError extends Error {
  override name = 'DoctorScopeError';
}

export interface DoctorScope {
  schema?: string;
  table?: string;
  /** With fix, a table name must resolve to one table. */
  fix?: boolean;
}

const SCOPE_SQL = `
select n.nspname as schema, c.relkind as kind, c.relispartition as is_partition
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where c.relname = ? and (?::text is null or n.nspname = ?::text)
   and n.nspname not in ('pg_catalog', 'information_schema')
 order by n.nspname`;

const RELATION_KINDS: Record<string, string> = {
  v: 'a view',
  m: 'a materialized view',
  f: 'a foreign table',
  S: 'a sequence',
  i: 'an index',
  I: 'an index',
  c: 'a composite type',
};

/**
 * The database's name, once the schema and table asked for are known to exist:
 * examining a scope that does not exist would report "healthy" about nothing.
 */
export async function checkScope(exec: SqlExec, options: DoctorScope): Promise<string> {
  const [current] = await exec<{ name: string }>('select current_database() as name');
  const database = current!.name;
  const schema = options.schema ?? null;
  if (schema !== null) {
    const found = await exec('select 1 from pg_namespace where nspname = ?', [schema]);
    if (found.length === 0) throw new DoctorScopeError(`schema "${schema}" does not exist in database ${database}`);
  }
  if (options.table === undefined) return database;
  const where = schema !== null ? `schema "${schema}" of database ${database}` : `any schema of database ${database}`;
  const relations = await exec<{ schema: string; kind: string; is_partition: boolean }>(SCOPE_SQL, [
    options.table,
    schema,
    schema,
  ]);
  const tables = relations.filter((r) => r.kind === 'r' || r.kind === 'p');
  if (tables.length === 0) {
    const other = relations[0];
    const what = other
      ? `is ${RELATION_KINDS[other.kind] ?? 'not a table'} in schema "${other.schema}", not a table`
      : `does not exist in ${where}`;
    throw new DoctorScopeError(`table "${options.table}" ${what}`);
  }
  if (tables.every((t) => t.is_partition)) {
    throw new DoctorScopeError(`table "${options.table}" is a partition: examine its parent table`);
  }
  if (options.fix && tables.length > 1) {
    throw new DoctorScopeError(
      `table "${options.table}" exists in schemas ${tables.map((t) => t.schema).join(', ')}: name one with --schema`,
    );
  }
  return database;
}
