/**
 * Opens the ledger: connects to the configured PostgreSQL (or starts the embedded
 * one), runs pending migrations, and returns one handle that closes all of it.
 *
 * Only what the database at hand needs is loaded: the embedded PostgreSQL's modules when no URL is given, the
 * migrator and the migration classes when a migration is pending (one query tells) or the caller asked for the
 * migrator (`migrate: false`). A command reading an up-to-date ledger loads neither (docs/benchmarks.md).
 */
import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { maskDatabaseUrl, redactDatabaseUrl, resolveDatabaseUrl } from './database-url.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, missingDatabase, probeDatabase } from './database-probe.js';
import {
  DEFAULT_STATEMENT_TIMEOUT_MS,
  KEEPALIVE_INITIAL_DELAY_MS,
  closeOnStatementTimeout,
  connectTimeoutText,
} from './pg-bounds.js';

export { DEFAULT_STATEMENT_TIMEOUT_MS };

/** The bounds every pooled connection gets. */
interface ConnectionBounds {
  connectTimeoutMs: number;
  statementTimeoutMs: number;
}
import type { EmbeddedPostgres } from './embedded-postgres.js';
import { pendingMigrationNames } from './migration-names.js';
import { createCoreOrmConfig, MIGRATIONS_TABLE } from './orm-core-config.js';
import { appliedMigrationNames } from '../store/migration-state.js';

export type DatabaseLogger = ((message: string) => void) | { info(message: string): void };

export interface OpenDatabaseOptions {
  /** PostgreSQL URL; default HH_SYNC_DATABASE_URL, then DATABASE_URL, then the embedded database. */
  url?: string;
  /** Use the embedded database even when HH_SYNC_DATABASE_URL / DATABASE_URL are set. */
  embedded?: boolean;
  /** Embedded database directory (default `.hh-sync/pgdata` under cwd; `'memory'` for in-memory). Ignored with a URL. */
  dataDir?: string;
  /** Apply pending migrations (default true). */
  migrate?: boolean;
  /** Receives one-line progress messages (never a password). */
  logger?: DatabaseLogger;
  /**
   * Create the database the URL names when it does not exist (default false: a missing database is a
   * DatabaseMissingError, so a typo never yields an empty ledger). The embedded data directory is always created.
   */
  createDatabase?: boolean;
  /** Bound of one connection attempt, in ms (default 10 000): a server that accepts and never answers fails in time. */
  connectTimeoutMs?: number;
  /**
   * Client-side bound of one statement, in ms (default 300 000, DEFAULT_STATEMENT_TIMEOUT_MS): a database that stops
   * answering mid-run (a proxy that stops forwarding, a frozen host) fails the statement and its connection is closed,
   * so the transaction and its fabric lock end with it. Generous: the longest statement of a 100,000-object sync
   * takes well under a second (docs/benchmarks.md).
   */
  statementTimeoutMs?: number;
  /** Extra MikroORM options (merged over ours). */
  ormOptions?: Partial<Options>;
}

export interface OpenedDatabase {
  /**
   * The ORM. Its migrator (`orm.migrator`, with the ledger's migration list) is there when opening found a migration
   * pending or was told `migrate: false`; an up-to-date ledger opened to migrate does not load it, and asking for it
   * then is an error saying so.
   */
  orm: MikroORM;
  /** The URL connected to (may contain a password: use redactDatabaseUrl before showing it). */
  url: string;
  /** True when the embedded PGlite was started for this handle. */
  embedded: boolean;
  /**
   * The pid of the embedded database's own process, when this handle started it (null for a server, or when another
   * process serves the data directory): its memory is that process's, not this one's.
   */
  embeddedServerPid: number | null;
  /** Names of the migrations applied while opening. */
  appliedMigrations: string[];
  /** Closes the ORM and, when embedded, the database server. Safe to call twice. */
  close(): Promise<void>;
}

function logWith(logger: DatabaseLogger | undefined): (message: string) => void {
  if (!logger) return () => {};
  return typeof logger === 'function' ? logger : (m) => logger.info(m);
}

/**
 * Our knex settings under the caller's: every connection attempt bounded (pg gives up on a silent server,
 * and the pool passes the failure on at once — knex's propagateCreateError; waiting for a busy pool keeps
 * knex's own bound), every statement bounded and every connection kept alive (a database that goes silent
 * mid-run fails the run instead of hanging it), and knex's warnings ("Connection Error: …", written with console.log — on a CLI's
 * stdout, in the middle of its JSON) sent to our logger; the error itself reaches the caller anyway.
 * A knex client of the caller's own (driverOptions.context) is passed through untouched.
 */
function boundedDriverOptions(
  driverOptions: unknown,
  bounds: ConnectionBounds,
  log: (message: string) => void,
): Options['driverOptions'] {
  const given = (driverOptions ?? {}) as { context?: unknown; connection?: object; pool?: object };
  if (given.context) return driverOptions as Options['driverOptions'];
  return {
    log: knexLog(log),
    ...given,
    connection: {
      connectionTimeoutMillis: bounds.connectTimeoutMs,
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_INITIAL_DELAY_MS,
      // pg's own client-side statement bound; closeOnStatementTimeout below then ends the connection.
      query_timeout: bounds.statementTimeoutMs,
      ...given.connection,
    },
    pool: { afterCreate: closeOnStatementTimeout(bounds.statementTimeoutMs), ...given.pool },
  };
}

/**
 * A pooled connection attempt that times out mid-run (the server went silent) fails with pg's bare "timeout
 * expired": say which server and which bound, as the first connection's probe does.
 */
function explainConnectTimeouts(orm: MikroORM, url: string, timeoutMs: number): void {
  type KnexClient = { acquireRawConnection(): Promise<unknown> };
  const client = (orm.em.getConnection() as unknown as { getKnex(): { client: KnexClient } }).getKnex().client;
  const acquire = client.acquireRawConnection.bind(client);
  client.acquireRawConnection = () =>
    acquire().catch((err: unknown) => {
      if (
        err instanceof Error &&
        /^(timeout expired|Connection terminated due to connection timeout)/.test(err.message)
      ) {
        err.message = connectTimeoutText(url, timeoutMs, err.message);
      }
      throw err;
    });
}

function knexLog(
  log: (message: string) => void,
): Record<'warn' | 'error' | 'deprecate' | 'debug', (message: unknown) => void> {
  const line = (level: string) => (message: unknown) =>
    log(`database ${level}: ${typeof message === 'string' ? message : JSON.stringify(message)}`);
  return { warn: line('warning'), error: line('error'), deprecate: line('deprecation'), debug: () => undefined };
}

/**
 * Applies the pending migrations (`migrate`), loading the migrator only when one is pending: one query compares
 * the applied names with MIGRATION_NAMES (pendingMigrationNames). Whatever that query concludes, the migrator
 * decides what it runs, as before; the query only spares loading it for a ledger that is up to date. With
 * `migrate: false` the migrator is attached for the caller.
 */
async function migrateIfNeeded(orm: MikroORM, migrate: boolean): Promise<string[]> {
  if (!migrate) {
    await attachMigrator(orm);
    return [];
  }
  const settings = orm.config.get('migrations');
  const table = settings.tableName ?? MIGRATIONS_TABLE;
  // A caller's own migration list, or a schema-qualified or quoted table name, is left to the migrator itself.
  if (!settings.migrationsList && /^[a-z_][a-z0-9_]*$/.test(table)) {
    if (pendingMigrationNames(await appliedMigrationNames(orm.em, table)).length === 0) {
      orm.config.registerExtension('@mikro-orm/migrator', () => {
        throw new Error(
          'openDatabase loaded no migrator: every migration was applied when it opened (open with migrate: false for one)',
        );
      });
      return [];
    }
  }
  await attachMigrator(orm);
  return (await orm.migrator.up()).map((m) => m.name);
}

/** Registers MikroORM's migrator with the compiled-in migration list (as createOrmConfig does), loading both now. */
async function attachMigrator(orm: MikroORM): Promise<void> {
  const [{ Migrator }, { MIGRATIONS }] = await Promise.all([
    import('@mikro-orm/migrations'),
    import('./migrations-list.js'),
  ]);
  const migrations = orm.config.get('migrations');
  orm.config.set('migrations', { ...migrations, migrationsList: migrations.migrationsList ?? MIGRATIONS });
  Migrator.register(orm);
}

export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<OpenedDatabase> {
  const log = logWith(options.logger);
  const configured = options.embedded ? undefined : resolveDatabaseUrl(options.url);
  let embedded: EmbeddedPostgres | undefined;
  let url: string;
  if (configured) {
    url = configured;
    log(`database: ${redactDatabaseUrl(url)}`);
  } else {
    // A frozen process holding the data directory must fail this open within the connection timeout too.
    const { startEmbeddedPostgres } = await import('./embedded-postgres.js');
    embedded = await startEmbeddedPostgres({ dataDir: options.dataDir, connectTimeoutMs: options.connectTimeoutMs });
    url = embedded.url;
    log(`database: embedded PGlite (${embedded.dataDir ?? 'in memory'}) on ${url}`);
  }

  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  let orm: MikroORM | undefined;
  try {
    const missing = embedded ? false : (await probeDatabase(url, connectTimeoutMs)) === 'missing';
    if (missing && !options.createDatabase) throw missingDatabase(url);
    const { migrations, driverOptions, ...rest } = options.ormOptions ?? {};
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- init() builds a core MikroORM, not the PostgreSqlMikroORM subclass (same instance shape; nothing here relies on instanceof).
    orm = await MikroORM.init(
      createCoreOrmConfig(url, {
        // PGlite is a single backend: one pooled connection.
        ...(embedded ? { pool: { min: 0, max: 1 } } : {}),
        // Only an explicit createDatabase may create one (MikroORM would do it silently on connect).
        ensureDatabase: missing,
        // Every later connection attempt is bounded too: pg gives up on a silent server, and the pool passes
        // the failure on at once (knex's propagateCreateError). Waiting for a busy pool keeps knex's own bound.
        driverOptions: boundedDriverOptions(
          driverOptions,
          { connectTimeoutMs, statementTimeoutMs: options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS },
          log,
        ),
        ...rest,
        migrations: { silent: true, ...migrations },
      }),
    );
    if (!(driverOptions as { context?: unknown } | undefined)?.context)
      explainConnectTimeouts(orm, url, connectTimeoutMs);
    const appliedMigrations = await migrateIfNeeded(orm, options.migrate ?? true);
    if (appliedMigrations.length > 0)
      log(`database: applied ${appliedMigrations.length} migration(s): ${appliedMigrations.join(', ')}`);
    let closed = false;
    const opened = orm;
    const server = embedded;
    return {
      orm: opened,
      url,
      embedded: Boolean(server),
      embeddedServerPid: server?.serverPid ?? null,
      appliedMigrations,
      async close() {
        if (closed) return;
        closed = true;
        try {
          await opened.close(true);
        } finally {
          await server?.stop();
        }
      },
    };
  } catch (err) {
    await orm?.close(true).catch(() => {});
    await embedded?.stop().catch(() => {});
    if (err instanceof Error) err.message = maskDatabaseUrl(err.message, url);
    throw err;
  }
}
