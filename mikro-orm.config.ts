/**
 * Configuration for the MikroORM CLI (`npx mikro-orm migration:create|up|down|check`).
 * The CLI loads the compiled copy (dist/mikro-orm.config.js, see package.json),
 * so run `npm run build` first. The database URL comes from HH_SYNC_DATABASE_URL
 * or DATABASE_URL.
 *
 * Unlike the runtime configuration, the CLI globs compiled migrations from
 * dist/src/migrations, writes new TypeScript migrations to src/migrations and
 * keeps the committed snapshot (src/migrations/.snapshot-hh-sync.json) current.
 */
import { createBaseOrmConfig } from './src/db/orm-base-config.js';

const url = process.env.HH_SYNC_DATABASE_URL || process.env.DATABASE_URL;
if (!url) {
  throw new Error('mikro-orm CLI: set HH_SYNC_DATABASE_URL or DATABASE_URL to a PostgreSQL URL');
}

/**
 * MikroORM rewrites the snapshot from the live database after every
 * migration:up/down; after a `down` to zero that would commit an empty snapshot
 * and break `migration:check`. The snapshot must describe the entities as of the
 * newest migration, so only the commands that create or check migrations use it.
 */
const command = process.argv.find((arg) => arg.startsWith('migration:') || arg.startsWith('schema:')) ?? '';
const useSnapshot = command === 'migration:create' || command === 'migration:check';

export default createBaseOrmConfig(url, {
  // The CLI always runs the compiled config and migrations, even when the
  // environment looks like TypeScript to MikroORM (e.g. TS_JEST set by Jest).
  preferTs: false,
  migrations: {
    path: 'dist/src/migrations',
    pathTs: 'src/migrations',
    glob: '!(*.d).js',
    snapshot: useSnapshot,
    emit: 'ts',
    // Needed so a generated `down` drops the tables its `up` created.
    dropTables: true,
  },
});
