/**
 * How the store sends SQL (`query`: bound parameters, always), and the helpers of the set-based statements.
 * Each bulk statement sends ONE statement for a whole batch of rows, passing the rows as a jsonb parameter
 * expanded by `jsonb_to_recordset` (and the values every row shares as one more, expanded by
 * `jsonb_to_record`; see encodeBatch): one round trip, one parse, no per-row queries (the bug this project
 * exists to avoid) and no parameter-count limits.
 */
import type { EntityManager, EntityName, EntityProperty } from '@mikro-orm/core';
import type { Knex, SqlEntityManager } from '@mikro-orm/postgresql';

export type Row = Record<string, unknown>;

/**
 * Where a statement runs: an EntityManager (the ORM's connection, in its current transaction if any), or any
 * SqlExecutor — a plain `pg` client for the CLI's reads without MikroORM (src/store/pg-executor.ts). The store's
 * read statements that `hh-sync fabric list` and `drift` need take either, so their SQL has one home.
 */
export type SqlTarget = EntityManager | SqlExecutor;

/**
 * Runs one statement written as `query` takes it: `?` placeholders (knex's raw syntax: `\\?` is a literal
 * question mark), values bound as protocol parameters, never spliced into the text.
 */
export interface SqlExecutor {
  query<T = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
}

/**
 * Run one statement on `db`; `?` placeholders. On an EntityManager, in its current transaction, if any. Values
 * always travel as protocol parameters ($1, $2, …), never spliced into the SQL text: MikroORM's own `execute`
 * inlines every value as an escaped literal, which for the multi-megabyte jsonb payloads of the bulk
 * statements costs more than the write itself (about 4× the time — see docs/benchmarks.md). An array value
 * would expand into a list, so pass arrays as PostgreSQL array literals (`intArray`) with a cast
 * (`= ANY(?::int[])`). Errors are converted as MikroORM converts its own (the same exception classes); an
 * executor's errors are its own.
 */
export async function query<T = Row>(db: SqlTarget, sql: string, params: readonly unknown[] = []): Promise<T[]> {
  if (isEntityManager(db)) return emQuery<T>(db, sql, params);
  return db.query<T>(sql, params);
}

// An executor is anything with `query`; an EntityManager has no such method but always has getConnection.
function isEntityManager(db: SqlTarget): db is EntityManager {
  return typeof (db as { getConnection?: unknown }).getConnection === 'function';
}

async function emQuery<T>(em: EntityManager, sql: string, params: readonly unknown[]): Promise<T[]> {
  const sem = em as unknown as SqlEntityManager;
  const connection = sem.getConnection();
  await connection.ensureConnection();
  const statement = connection.getKnex().raw(sql, params as readonly Knex.RawBinding[]);
  const trx = sem.getContext(false).getTransactionContext<Knex.Transaction>();
  if (trx) statement.transacting(trx);
  try {
    return ((await statement) as { rows: T[] }).rows;
  } catch (err) {
    throw sem.getDriver().convertException(err as Error);
  }
}

/** A PostgreSQL int[] literal for one bound parameter (`= ANY(?::int[])`): knex would expand a JS array into a list. */
export function intArray(ids: readonly number[]): string {
  return `{${ids.join(',')}}`;
}

/** A MikroORM QueryBuilder on `entity`, in the entity manager's current transaction, if any. */
export function queryBuilder<T extends object>(em: EntityManager, entity: EntityName<T>) {
  return (em as unknown as SqlEntityManager).createQueryBuilder(entity);
}

/** Statements taking an id list send at most this many ids each. */
export const IDS_PER_STATEMENT = 10000;

/** Column name → SQL type, read from the entity metadata so the entities stay the single source of truth. */
export function columnTypes(em: EntityManager, entityName: string): Map<string, string> {
  const meta = em.getMetadata().get(entityName);
  const types = new Map<string, string>();
  // The metadata types declare both lists on every property; a collection (1:m, m:n) has no column and no lists.
  for (const prop of Object.values(meta.properties) as Partial<Pick<EntityProperty, 'fieldNames' | 'columnTypes'>>[]) {
    const field = prop.fieldNames?.[0];
    const type = prop.columnTypes?.[0];
    if (field && type) types.set(field, type);
  }
  return types;
}

/** Quote an identifier that comes from our own metadata (never from user input). */
export function ident(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unexpected column name ${JSON.stringify(name)}`);
  return `"${name}"`;
}

/** `"col" type, …` for `jsonb_to_recordset(…) AS x(…)`, the types taken from the entity metadata. */
export function recordsetDefinition(columns: readonly string[], types: Map<string, string>): string {
  return columns
    .map((c) => {
      const t = types.get(c);
      if (!t) throw new Error(`column ${c} has no type in the entity metadata`);
      return `${ident(c)} ${t}`;
    })
    .join(', ');
}

/** The columns of `columns` that hold timestamps, by their metadata type. */
export function timestampColumns(columns: readonly string[], types: Map<string, string>): string[] {
  return columns.filter((c) => /^timestamp/.test(types.get(c) ?? ''));
}

/**
 * A batch of rows as the bulk statements read them. Columns holding the same scalar in every row — the
 * run's timestamps, the fabric, often the kind, namespace, state and reason — travel once, as one JSON
 * object (`constantsJson`, for `jsonb_to_record`); the others as an array of row objects (`rowsJson`, for
 * `jsonb_to_recordset`). In a typical batch that halves the JSON the client builds and the server parses.
 *
 * Only scalars and null count as constant (objects are not compared). Columns in `alwaysVarying` stay in
 * the rows, so the recordset never has zero columns. Timestamps become ISO strings once per distinct Date:
 * left to JSON.stringify, every Date goes through its toJSON, the serializer's slow path. The row objects
 * are built with the same keys in the same order, so they share one shape and serialize fast.
 */
export interface EncodedBatch {
  constant: string[];
  varying: string[];
  constantsJson: string;
  rowsJson: string;
}

export function encodeBatch(
  rows: readonly Row[],
  columns: readonly string[],
  timestamps: readonly string[],
  alwaysVarying: readonly string[],
): EncodedBatch {
  const iso = new Map<number, string>();
  const json = (c: string, v: unknown): unknown => {
    if (v instanceof Date && timestamps.includes(c)) {
      const t = v.getTime();
      let text = iso.get(t);
      if (text === undefined) iso.set(t, (text = v.toISOString()));
      return text;
    }
    return v ?? null;
  };
  const constant: string[] = [];
  const varying: string[] = [];
  for (const c of columns) (!alwaysVarying.includes(c) && sameScalarInAll(rows, c) ? constant : varying).push(c);
  const constants: Row = {};
  if (rows.length) for (const c of constant) constants[c] = json(c, rows[0]![c]);
  const out = new Array<Row>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const o: Row = {};
    for (const c of varying) o[c] = json(c, row[c]);
    out[i] = o;
  }
  return { constant, varying, constantsJson: JSON.stringify(constants), rowsJson: JSON.stringify(out) };
}

/** True when every row holds the same scalar (or null/undefined) in `column`; Dates compare by time. */
function sameScalarInAll(rows: readonly Row[], column: string): boolean {
  if (rows.length === 0) return false;
  const first = rows[0]![column] ?? null;
  if (first instanceof Date) {
    const t = first.getTime();
    return rows.every((r) => r[column] instanceof Date && r[column].getTime() === t);
  }
  if (first !== null && typeof first === 'object') return false;
  return rows.every((r) => (r[column] ?? null) === first);
}

/** DELETE … WHERE id = ANY(?) in batches. */
export async function deleteByIds(em: EntityManager, table: string, ids: readonly number[]): Promise<void> {
  for (let i = 0; i < ids.length; i += IDS_PER_STATEMENT) {
    await query(em, `DELETE FROM ${ident(table)} WHERE id = ANY(?::int[])`, [
      intArray(ids.slice(i, i + IDS_PER_STATEMENT)),
    ]);
  }
}
