/**
 * The one place that knows how MikroORM is configured for the ledger, without
 * the migration classes themselves (so the MikroORM CLI can load it while a
 * migration is being added or removed). Runtime code uses createOrmConfig
 * (orm-config.ts), which adds the compiled-in migration list. The options
 * themselves live in orm-core-config.ts; this adds the migrator.
 */
import { Migrator } from '@mikro-orm/migrations';
import type { Options } from '@mikro-orm/postgresql';
import { createCoreOrmConfig } from './orm-core-config.js';

export { MIGRATIONS_DIR, MIGRATIONS_TABLE, SNAPSHOT_NAME } from './orm-core-config.js';

/**
 * Builds the ORM options for a PostgreSQL URL. The snapshot file is never
 * touched (MikroORM rewrites it after every migration run when enabled — only the
 * CLI config turns it on).
 */
export function createBaseOrmConfig(url: string, overrides: Partial<Options> = {}): Options {
  return createCoreOrmConfig(url, { extensions: [Migrator], ...overrides });
}
