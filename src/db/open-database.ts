/**
 * Opens the ledger: connects to the configured PostgreSQL (or starts the embedded
 * one), runs pending migrations, and returns one handle that closes all of it.
 */
import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { redactDatabaseUrl, resolveDatabaseUrl } from './database-url.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.js';
import { createOrmConfig } from './orm-config.js';

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
  /** Extra MikroORM options (merged over ours). */
  ormOptions?: Partial<Options>;
}

export interface OpenedDatabase {
  orm: MikroORM;
  /** The URL connected to (may contain a password: use redactDatabaseUrl before showing it). */
  url: string;
  /** True when the embedded PGlite was started for this handle. */
  embedded: boolean;
  /** Names of the migrations applied while opening. */
  appliedMigrations: string[];
  /** Closes the ORM and, when embedded, the database server. Safe to call twice. */
  close(): Promise<void>;
}

function logWith(logger: DatabaseLogger | undefined): (message: string) => void {
  if (!logger) return () => {};
  return typeof logger === 'function' ? logger : (m) => logger.info(m);
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
    embedded = await startEmbeddedPostgres({ dataDir: options.dataDir });
    url = embedded.url;
    log(`database: embedded PGlite (${embedded.dataDir ?? 'in memory'}) on ${url}`);
  }

  let orm: MikroORM | undefined;
  try {
    const { migrations, ...rest } = options.ormOptions ?? {};
    orm = await MikroORM.init(
      createOrmConfig(url, {
        // PGlite is a single backend: one pooled connection.
        ...(embedded ? { pool: { min: 0, max: 1 } } : {}),
        ...rest,
        migrations: { silent: true, ...migrations },
      }),
    );
    const appliedMigrations: string[] = [];
    if (options.migrate ?? true) {
      const applied = await orm.getMigrator().up();
      for (const m of applied) appliedMigrations.push(m.name);
      if (applied.length > 0) log(`database: applied ${applied.length} migration(s): ${appliedMigrations.join(', ')}`);
    }
    let closed = false;
    const opened = orm;
    const server = embedded;
    return {
      orm: opened,
      url,
      embedded: Boolean(server),
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
    if (err instanceof Error) err.message = err.message.split(url).join(redactDatabaseUrl(url));
    throw err;
  }
}
