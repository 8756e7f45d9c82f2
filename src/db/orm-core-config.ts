/**
 * The ledger's MikroORM options without the migrator: what every connection needs (driver, entities, naming).
 * Kept apart from orm-base-config.ts so a command that reads the ledger never loads `@mikro-orm/migrations`
 * (~50 ms of module loading; see "CLI latency" in docs/benchmarks.md): openDatabase attaches the migrator only
 * when a migration is pending.
 */
import { fileURLToPath } from 'node:url';
import { PostgreSqlDriver, UnderscoreNamingStrategy, defineConfig, type Options } from '@mikro-orm/postgresql';
import { ALL_ENTITIES } from '../entities/index.js';
import { MIGRATIONS_TABLE } from './migration-names.js';

export { MIGRATIONS_TABLE };

/** Name of the committed schema snapshot (independent of the database name). */
export const SNAPSHOT_NAME = '.snapshot-hh-sync';
/**
 * Absolute directory of the migrations next to this module: src/migrations when
 * running TypeScript (tests), dist/src/migrations in the compiled package.
 */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

type MigrationOptions = NonNullable<Options['migrations']>;

/**
 * The ledger's migration settings under the caller's. The snapshot file is never touched (MikroORM rewrites it
 * after every migration run when enabled — only the MikroORM CLI's config turns it on).
 */
export function ledgerMigrationOptions(overrides: MigrationOptions = {}): MigrationOptions {
  return {
    tableName: MIGRATIONS_TABLE,
    path: MIGRATIONS_DIR,
    pathTs: MIGRATIONS_DIR,
    snapshot: false,
    snapshotName: SNAPSHOT_NAME,
    transactional: true,
    allOrNothing: true,
    emit: 'ts',
    // Never silently drop tables a migration diff cannot explain.
    dropTables: false,
    ...overrides,
  };
}

/** The ORM options for a PostgreSQL URL, the migrator not registered (createBaseOrmConfig adds it). */
export function createCoreOrmConfig(url: string, overrides: Partial<Options> = {}): Options {
  const { migrations: migrationOverrides, ...rest } = overrides;
  return defineConfig({
    driver: PostgreSqlDriver,
    clientUrl: url,
    // Given explicitly: discovery reads these classes' decorators and never scans a directory.
    entities: [...ALL_ENTITIES],
    namingStrategy: UnderscoreNamingStrategy,
    // A fresh pool connection is only opened when needed; PGlite serves one backend.
    pool: { min: 0, max: 4 },
    debug: false,
    discovery: { disableDynamicFileAccess: true, requireEntitiesArray: true },
    ...rest,
    migrations: ledgerMigrationOptions(migrationOverrides),
  });
}
