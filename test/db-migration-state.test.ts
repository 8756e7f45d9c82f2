/**
 * openDatabase checks the migration state with one query and loads the migrator only when a migration is pending:
 * every guarantee of migrating on open still holds (a new database gets every migration, an out-of-date one the
 * missing ones, an unreadable migrations table fails the open), and the names it compares with are the list's.
 */
import { MIGRATIONS } from '../src/db/migrations-list.js';
import { MIGRATION_NAMES } from '../src/db/migration-names.js';
import { MIGRATIONS_TABLE } from '../src/db/orm-core-config.js';
import { openDatabase, type OpenDatabaseOptions } from '../src/db/open-database.js';
import { createEmptyDatabase, withPg } from './helpers/database.js';

let db: Awaited<ReturnType<typeof createEmptyDatabase>>;
beforeEach(async () => {
  db = await createEmptyDatabase();
});
afterEach(() => db.drop());

/** openDatabase on this test's database (one pooled connection: PGlite serves one backend). */
const open = (options: Omit<OpenDatabaseOptions, 'url'> = {}) =>
  openDatabase({ url: db.url, ormOptions: { pool: { min: 0, max: 1 } }, ...options });

const appliedNames = () =>
  withPg(
    db.url,
    async (c) => (await c.query<{ name: string }>(`SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY id`)).rows,
  );

test('the names compared on open are the migration list’s, in order', () => {
  expect([...MIGRATION_NAMES]).toEqual(MIGRATIONS.map((m) => m.name));
});

test('a new database gets every migration; reopened up to date, nothing is applied and no migrator is loaded', async () => {
  const first = await open();
  try {
    expect(first.appliedMigrations).toEqual([...MIGRATION_NAMES]);
  } finally {
    await first.close();
  }
  const again = await open();
  try {
    expect(again.appliedMigrations).toEqual([]);
    // Asking the handle for a migrator it did not load is an error that says why, not a migrator without our list.
    expect(() => again.orm.migrator).toThrow(/loaded no migrator: every migration was applied/);
  } finally {
    await again.close();
  }
  expect((await appliedNames()).map((r) => r.name)).toEqual([...MIGRATION_NAMES]);
});

test('an out-of-date ledger gets exactly the migrations it misses', async () => {
  const old = await open({ migrate: false });
  try {
    await old.orm.migrator.up({ to: MIGRATION_NAMES[MIGRATION_NAMES.length - 2] });
  } finally {
    await old.close();
  }
  expect(await appliedNames()).toHaveLength(MIGRATION_NAMES.length - 1);

  const opened = await open();
  try {
    expect(opened.appliedMigrations).toEqual([MIGRATION_NAMES[MIGRATION_NAMES.length - 1]]);
  } finally {
    await opened.close();
  }
});

test('a migration this version does not know (a newer one applied it) is left alone, as the migrator does', async () => {
  await (await open()).close();
  await withPg(db.url, (c) =>
    c.query(`INSERT INTO ${MIGRATIONS_TABLE} (name) VALUES ('Migration29990101000000_future')`),
  );
  const opened = await open();
  try {
    expect(opened.appliedMigrations).toEqual([]);
  } finally {
    await opened.close();
  }
});

test('an unreadable migrations table fails the open with the server’s reason', async () => {
  await withPg(db.url, (c) => c.query(`CREATE TABLE ${MIGRATIONS_TABLE} (id serial PRIMARY KEY, label text)`));
  await expect(open()).rejects.toThrow(/column "name" does not exist/);
});
