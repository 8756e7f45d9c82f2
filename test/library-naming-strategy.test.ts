/**
 * Why the README asks a host to keep MikroORM's default UnderscoreNamingStrategy: our migrations create snake_case
 * columns (and src/store's SQL names them so). A host ORM with another naming strategy maps our entities to other
 * column names, so its own ORM statements on our tables fail after our migrations ran. If this test ever fails
 * because that works, the README's caveat can go.
 */
import 'reflect-metadata';
import { EntityCaseNamingStrategy, MikroORM } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { ALL_ENTITIES, FabricRegistry, MIGRATIONS } from '../src/index.js';
import { createEmptyDatabase } from './helpers/database.js';

test('with EntityCaseNamingStrategy our migrated tables do not match the entities, and creating a fabric fails', async () => {
  const db = await createEmptyDatabase();
  const orm = await MikroORM.init({
    clientUrl: db.url,
    entities: [...ALL_ENTITIES],
    namingStrategy: EntityCaseNamingStrategy,
    extensions: [Migrator],
    migrations: { migrationsList: MIGRATIONS, snapshot: false, silent: true },
    pool: db.embedded ? { min: 0, max: 1 } : undefined,
    debug: false,
  });
  try {
    await orm.migrator.up();
    // The entities now expect camelCase columns the migrations never created …
    const diff = await orm.schema.getUpdateSchemaSQL({ wrap: false });
    expect(diff).toMatch(/syncIntervalSeconds/);
    // … so the ORM's own insert of a fabric names columns that do not exist.
    await expect(new FabricRegistry(orm.em).create('camel')).rejects.toThrow(/column .* does not exist/);
  } finally {
    await orm.close(true);
    await db.drop();
  }
});
