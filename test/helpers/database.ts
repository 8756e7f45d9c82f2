/**
 * One isolated ledger database per call, so every test file (Jest runs two
 * workers) owns its data.
 *
 * - With HH_SYNC_TEST_DATABASE_URL or DATABASE_URL set (CI): a fresh database
 *   `hh_test_<random>` on that server; close() drops it.
 * - Otherwise: an in-memory PGlite behind pglite-socket, reached through the same
 *   `pg` driver; close() stops it.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { startEmbeddedPostgres } from '../../src/db/embedded-postgres.js';
import { createOrmConfig } from '../../src/db/orm-config.js';

export interface TestDatabase {
  url: string;
  orm: MikroORM;
  /** True when backed by PGlite, false when by the real server. */
  embedded: boolean;
  close(): Promise<void>;
}

export interface TestDatabaseOptions {
  /** Apply all migrations (default true). false = an empty database. */
  migrate?: boolean;
  /** Extra MikroORM options. */
  ormOptions?: Partial<Options>;
}

/** The server URL the tests use, if any. */
export function testServerUrl(): string | undefined {
  return process.env.HH_SYNC_TEST_DATABASE_URL || process.env.DATABASE_URL || undefined;
}

/**
 * `describe` when a PostgreSQL server is given (DATABASE_URL), else `describe.skip`: a block that needs a real server
 * (two sessions, SIGSTOP, server-side errors) is then reported as skipped, never silently absent.
 */
export const describeWithServer: jest.Describe = testServerUrl() ? describe : describe.skip;

/** `test` with a server, `test.skip` without one (see describeWithServer). */
export const testWithServer: jest.It = testServerUrl() ? test : test.skip;

/** A connected raw `pg` client; the caller ends it (`await client.end()`). */
export async function connectPg(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

/** Runs `fn` with a raw client and always ends it. */
export async function withPg<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connectPg(url);
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** Creates an empty database (real server) or starts an in-memory PGlite; returns its URL and a disposer. */
export async function createEmptyDatabase(): Promise<{ url: string; embedded: boolean; drop(): Promise<void> }> {
  const serverUrl = testServerUrl();
  if (!serverUrl) {
    // Started from the template the build made (src/db/embedded-template.ts), not by initdb: well under a second.
    const server = await startEmbeddedPostgres({ dataDir: 'memory' });
    return { url: server.url, embedded: true, drop: () => server.stop() };
  }
  const name = `hh_test_${randomBytes(6).toString('hex')}`;
  await withPg(serverUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
  return {
    url: withDatabase(serverUrl, name),
    embedded: false,
    drop: () => withPg(serverUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => {}),
  };
}

export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const db = await createEmptyDatabase();
  let orm: MikroORM | undefined;
  try {
    const { migrations, ...rest } = options.ormOptions ?? {};
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- init is `new this(…)`, so the instance is this subclass; its declared return type names the base class
    orm = await MikroORM.init(
      createOrmConfig(db.url, {
        ...(db.embedded ? { pool: { min: 0, max: 1 } } : {}),
        ...rest,
        migrations: { silent: true, ...migrations },
      }),
    );
    if (options.migrate ?? true) await orm.migrator.up();
  } catch (err) {
    await orm?.close(true).catch(() => {});
    await db.drop().catch(() => {});
    throw err;
  }
  const opened = orm;
  let closed = false;
  return {
    url: db.url,
    orm: opened,
    embedded: db.embedded,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await opened.close(true);
      } finally {
        await db.drop();
      }
    },
  };
}
