/**
 * The store's statements on a plain `pg` client (SqlExecutor), for the CLI's reads that skip MikroORM
 * (`hh-sync fabric list`, `drift`; see "CLI latency" in docs/benchmarks.md). The statements are written for
 * `query` in sql.ts, i.e. in knex's raw syntax; they are translated here exactly as knex translates them for
 * PostgreSQL, so one text runs on either (test/store-pg-executor.test.ts compares the two translations).
 */
import type { Row, SqlExecutor } from './sql.js';

/** What a pg client must offer: the callback form of `query` (the form the statement-timeout hook wraps). */
export interface PgQueryable {
  query(text: string, values: unknown[], callback: (err: Error | null, result?: { rows: unknown[] }) => void): unknown;
}

/** An executor sending each statement on `client` (its errors are pg's own: SQLSTATE in `code`). */
export function pgExecutor(client: PgQueryable): SqlExecutor {
  return {
    query<T = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
      const text = pgPlaceholders(sql, params);
      return new Promise<T[]>((resolve, reject) => {
        client.query(text, [...params], (err, result) => (err ? reject(err) : resolve((result?.rows ?? []) as T[])));
      });
    },
  };
}

/**
 * `?` → `$1`, `$2`, … as knex does for PostgreSQL: first its raw formatter (each `?` takes the next value, `\?`
 * is left for the next step, `??` would be an identifier binding), then its positionBindings (`\?` becomes a
 * literal `?`, e.g. for the jsonb operators `?`, `?|` and `?&`). A `?::int[]` cast is a `?` like any other. What
 * the store never sends is refused rather than guessed: identifier bindings, and arrays (knex would expand one
 * into a list; the store passes array literals, see intArray).
 */
export function pgPlaceholders(sql: string, params: readonly unknown[]): string {
  let used = 0;
  sql.replace(/\\?\?\??/g, (match) => {
    if (match === '\\?') return match;
    if (match === '??') throw new Error('identifier bindings (??) are not supported by the pg executor');
    if (Array.isArray(params[used]))
      throw new Error(`parameter ${used + 1} is an array: pass a PostgreSQL array literal`);
    used++;
    return match;
  });
  if (used !== params.length) throw new Error(`Expected ${params.length} bindings, saw ${used}`);
  let position = 0;
  return sql.replace(/(\\*)(\?)/g, (_match, escapes: string) => (escapes.length % 2 ? '?' : `$${++position}`));
}
