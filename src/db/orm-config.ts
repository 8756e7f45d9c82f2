/**
 * ORM options for running the ledger: the base configuration plus the compiled-in
 * migration list, so a host application can run our migrations from the package
 * without globbing any directory.
 */
import type { Options } from '@mikro-orm/postgresql';
import { MIGRATIONS } from './migrations-list.js';
import { createBaseOrmConfig } from './orm-base-config.js';

export { MIGRATIONS_DIR, MIGRATIONS_TABLE, SNAPSHOT_NAME, createBaseOrmConfig } from './orm-base-config.js';
export { MIGRATIONS } from './migrations-list.js';

export function createOrmConfig(url: string, overrides: Partial<Options> = {}): Options {
  const { migrations, ...rest } = overrides;
  return createBaseOrmConfig(url, { ...rest, migrations: { migrationsList: MIGRATIONS, ...migrations } });
}
