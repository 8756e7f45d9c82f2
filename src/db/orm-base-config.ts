/**
 * The one place that knows how MikroORM is configured for the ledger, without
 * the migration classes themselves (so the MikroORM CLI can load it while a
 * migration is being added or removed). Runtime code uses createOrmConfig
 * (orm-config.ts), which adds the compiled-in migration list.
 */
import { fileURLToPath } from 'node:url';
import { Migrator } from '@mikro-orm/migrations';
import { PostgreSqlDriver, UnderscoreNamingStrategy, defineConfig, type Options } from '@mikro-orm/postgresql';
import { ALL_ENTITIES } from '../entities/index.js';

/** Table MikroORM records applied migrations in. */
export const MIGRATIONS_TABLE = 'mikro_orm_migrations';
/** Name of the committed schema snapshot (independent of the database name). */
export const SNAPSHOT_NAME = '.snapshot-hh-sync';
/**
 * Absolute directory of the migrations next to this module: src/migrations when
 * running TypeScript (tests), dist/src/migrations in the compiled package.
 */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

/**
 * Builds the ORM options for a PostgreSQL URL. The snapshot file is never
 * touched (MikroORM rewrites it after every migration run when enabled — only the
 * CLI config turns it on).
 */
export function createBaseOrmConfig(url: string, overrides: Partial<Options> = {}): Options {
  const { migrations: migrationOverrides, ...rest } = overrides;
  return defineConfig({
    driver: PostgreSqlDriver,
    clientUrl: url,
    entities: [...ALL_ENTITIES],
    namingStrategy: UnderscoreNamingStrategy,
    extensions: [Migrator],
    // A fresh pool connection is only opened when needed; PGlite serves one backend.
    pool: { min: 0, max: 4 },
    debug: false,
    discovery: { disableDynamicFileAccess: true, requireEntitiesArray: true },
    ...rest,
    migrations: {
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
      ...migrationOverrides,
    },
  });
}
