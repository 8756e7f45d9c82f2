/**
 * Set-based SQL for the ledger's hot paths. Each helper sends ONE statement for a whole batch of rows,
 * passing the rows as a single jsonb parameter expanded by `jsonb_to_recordset`: one round trip, one
 * parse, no per-row queries (the bug this project exists to avoid) and no parameter-count limits.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/postgresql';

export type Row = Record<string, unknown>;

/** Run raw SQL (knex `?` placeholders) in the entity manager's current transaction, if any. */
export async function query<T = Row>(em: EntityManager, sql: string, params: unknown[] = []): Promise<T[]> {
  return (em as unknown as SqlEntityManager).execute(sql, params as any[], 'all') as Promise<T[]>;
}

/** Column name → SQL type, read from the entity metadata so the entities stay the single source of truth. */
export function columnTypes(em: EntityManager, entityName: string): Map<string, string> {
  const meta = em.getMetadata().get(entityName);
  const types = new Map<string, string>();
  for (const prop of Object.values(meta.properties)) {
    const field = prop.fieldNames?.[0];
    const type = prop.columnTypes?.[0];
    if (field && type) types.set(field, type);
  }
  return types;
}

/** Quote an identifier that comes from our own metadata (never from user input). */
function ident(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unexpected column name ${JSON.stringify(name)}`);
  return `"${name}"`;
}

function recordsetDefinition(columns: readonly string[], types: Map<string, string>): string {
  return columns
    .map((c) => {
      const t = types.get(c);
      if (!t) throw new Error(`column ${c} has no type in the entity metadata`);
      return `${ident(c)} ${t}`;
    })
    .join(', ');
}

/** Serialize rows for jsonb_to_recordset: Dates as ISO strings, undefined as null. */
function toJsonParam(rows: readonly Row[], columns: readonly string[]): string {
  return JSON.stringify(
    rows.map((r) => {
      const o: Row = {};
      for (const c of columns) {
        const v = r[c];
        o[c] = v instanceof Date ? v.toISOString() : v === undefined ? null : v;
      }
      return o;
    }),
  );
}

export interface UpsertOptions {
  table: string;
  entityName: string;
  /** Conflict target, e.g. ['fabric_id', 'kind', 'namespace', 'name']. */
  key: readonly string[];
  /** Every column the rows carry (key columns included). */
  columns: readonly string[];
  /** Columns overwritten on conflict; defaults to every non-key column. */
  update?: readonly string[];
  /** SQL expressions that replace `col = excluded.col` for some columns (`t` is the table, `excluded` the new row). */
  updateExpressions?: Record<string, string>;
  /** Columns returned for each row written. */
  returning?: readonly string[];
  batchSize?: number;
}

/**
 * INSERT … SELECT FROM jsonb_to_recordset(?) ON CONFLICT (key) DO UPDATE, in batches.
 * Columns left out of `columns` take their database default on insert and are not touched on update:
 * that is why every column has a database default.
 */
export async function upsertRows(em: EntityManager, rows: readonly Row[], opts: UpsertOptions): Promise<Row[]> {
  if (rows.length === 0) return [];
  const types = columnTypes(em, opts.entityName);
  const cols = opts.columns.map(ident).join(', ');
  const update = (opts.update ?? opts.columns.filter((c) => !opts.key.includes(c)))
    .map((c) => `${ident(c)} = ${opts.updateExpressions?.[c] ?? `excluded.${ident(c)}`}`)
    .join(', ');
  const returning = opts.returning?.length ? ` RETURNING ${opts.returning.map(ident).join(', ')}` : '';
  const sql =
    `INSERT INTO ${ident(opts.table)} AS t (${cols}) ` +
    `SELECT ${cols} FROM jsonb_to_recordset(?::jsonb) AS x(${recordsetDefinition(opts.columns, types)}) ` +
    `ON CONFLICT (${opts.key.map(ident).join(', ')}) DO ${update ? `UPDATE SET ${update}` : 'NOTHING'}${returning}`;
  const out: Row[] = [];
  const size = opts.batchSize ?? 5000;
  for (let i = 0; i < rows.length; i += size) {
    const res = await query(em, sql, [toJsonParam(rows.slice(i, i + size), opts.columns)]);
    out.push(...res);
  }
  return out;
}

/** Plain INSERT of many rows in batches (no conflict handling). */
export async function insertRows(
  em: EntityManager,
  rows: readonly Row[],
  opts: { table: string; entityName: string; columns: readonly string[]; batchSize?: number },
): Promise<void> {
  if (rows.length === 0) return;
  const types = columnTypes(em, opts.entityName);
  const cols = opts.columns.map(ident).join(', ');
  const sql =
    `INSERT INTO ${ident(opts.table)} (${cols}) ` +
    `SELECT ${cols} FROM jsonb_to_recordset(?::jsonb) AS x(${recordsetDefinition(opts.columns, types)})`;
  const size = opts.batchSize ?? 5000;
  for (let i = 0; i < rows.length; i += size) {
    await query(em, sql, [toJsonParam(rows.slice(i, i + size), opts.columns)]);
  }
}

/** DELETE … WHERE id = ANY(?) in batches. */
export async function deleteByIds(em: EntityManager, table: string, ids: readonly number[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 10000) {
    // A PostgreSQL array literal, not a JS array: knex would expand an array binding into a list.
    await query(em, `DELETE FROM ${ident(table)} WHERE id = ANY(?::int[])`, [`{${ids.slice(i, i + 10000).join(',')}}`]);
  }
}
