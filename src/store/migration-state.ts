/** What the migrations table says was applied (MikroORM's bookkeeping table, read without loading the migrator). */
import { ident, query, type SqlTarget } from './sql.js';

/** PostgreSQL's undefined_table: a database no migration ever ran on. */
const UNDEFINED_TABLE = '42P01';

/**
 * Names of the applied migrations, without a `.js`/`.ts` ending (older MikroORM versions stored file names);
 * empty when the table does not exist yet.
 */
export async function appliedMigrationNames(db: SqlTarget, table: string): Promise<string[]> {
  try {
    const rows = await query<{ name: string }>(
      db,
      `SELECT regexp_replace(name, '\\.[jt]s$', '') AS name FROM ${ident(table)}`,
    );
    return rows.map((r) => r.name);
  } catch (err) {
    if (errorCode(err) === UNDEFINED_TABLE) return [];
    throw err;
  }
}

function errorCode(err: unknown): unknown {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | null;
  return e?.code ?? e?.cause?.code;
}
