/**
 * `hh-sync fabric list` and `drift` on a plain `pg` client: no MikroORM, no class-validator — most of those
 * commands' time was loading them (docs/benchmarks.md, "CLI latency"). Taken only for a PostgreSQL URL whose
 * ledger is up to date; otherwise (the embedded ledger, a migration pending or the migrations table missing,
 * createDatabase asked) the ledger opens through the ORM exactly as before, which migrates. The same guarantees
 * as openDatabase: one bounded connection attempt whose failures are probeDatabase's lines, a missing database
 * is DatabaseMissingError (never created), every statement bounded (an unanswered one closes the connection),
 * passwords masked in every error.
 */
import type { LedgerDatabaseOptions } from '../ledger-reader.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, connectDatabase, missingDatabase } from '../db/database-probe.js';
import { maskDatabaseUrl, redactDatabaseUrl, resolveDatabaseUrl } from '../db/database-url.js';
import { MIGRATIONS_TABLE, pendingMigrationNames } from '../db/migration-names.js';
import { DEFAULT_STATEMENT_TIMEOUT_MS, KEEPALIVE_INITIAL_DELAY_MS, closeOnStatementTimeout } from '../db/pg-bounds.js';
import { appliedMigrationNames } from '../store/migration-state.js';
import { pgExecutor } from '../store/pg-executor.js';
import { selectFabricByName, selectFabrics } from '../store/fabric-rows.js';
import type { SqlExecutor } from '../store/sql.js';
import { readsOfReader, type FabricReads } from './fabric-reads.js';

/** The reads on a plain pg client when the ledger allows it, else through the ORM (LedgerReader). */
export async function openFabricReads(options: LedgerDatabaseOptions): Promise<FabricReads> {
  const url = options.embedded ? undefined : resolveDatabaseUrl(options.databaseUrl);
  if (url && !options.createDatabase && options.migrate !== false) {
    const reads = await openPgFabricReads(url, options);
    if (reads) return reads;
  }
  const { openLedgerReader } = await import('../ledger-reader.js');
  return readsOfReader(await openLedgerReader(options));
}

/**
 * The reads on one pg connection to `url`; undefined (connection closed) when a migration is pending, so the
 * caller opens through the ORM, which applies it.
 */
export async function openPgFabricReads(
  url: string,
  options: Omit<LedgerDatabaseOptions, 'databaseUrl'> = {},
): Promise<FabricReads | undefined> {
  const debug = (m: string) => options.logger?.debug(m);
  debug(`database: ${redactDatabaseUrl(url)}`);
  const { db, close } = await connectForReads(url, options);
  try {
    if (pendingMigrationNames(await appliedMigrationNames(db, MIGRATIONS_TABLE)).length > 0) {
      debug('database: a migration is pending; opening the ledger through the ORM to apply it');
      await close();
      return undefined;
    }
  } catch (err) {
    await close();
    throw err;
  }
  return {
    list: () => selectFabrics(db),
    get: async (name) => (await selectFabricByName(db, name)) ?? null,
    driftReport: async (fabric, filter) => (await import('../sync/drift-report.js')).driftReport(db, fabric, filter),
    close,
  };
}

/**
 * One connection to `url` with openDatabase's bounds, as an executor: connect timeout (probeDatabase's errors), a
 * missing database as DatabaseMissingError, a statement timeout that closes the connection, the password masked
 * in every error.
 */
export async function connectForReads(
  url: string,
  options: Pick<LedgerDatabaseOptions, 'connectTimeoutMs' | 'statementTimeoutMs'> = {},
): Promise<{ db: SqlExecutor; close: () => Promise<void> }> {
  const statementTimeoutMs = options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  const client = await connectDatabase(url, options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, {
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_INITIAL_DELAY_MS,
    query_timeout: statementTimeoutMs,
  });
  if (client === 'missing') throw missingDatabase(url);
  closeOnStatementTimeout(statementTimeoutMs)(client, () => undefined);
  return { db: maskedErrors(pgExecutor(client), url), close: () => client.end().catch(() => undefined) };
}

/** The executor with the URL's password masked in every error it throws. */
function maskedErrors(db: SqlExecutor, url: string): SqlExecutor {
  return {
    query: <T>(sql: string, params?: readonly unknown[]) =>
      db.query<T>(sql, params).catch((err: unknown) => {
        if (err instanceof Error) err.message = maskDatabaseUrl(err.message, url);
        throw err;
      }),
  };
}
