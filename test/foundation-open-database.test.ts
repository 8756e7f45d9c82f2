import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HedgehogFabric } from '../src/entities/index.js';
import { openDatabase } from '../src/db/open-database.js';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres.js';
import { withPg } from './helpers/database.js';
import { MIGRATIONS } from '../src/db/orm-config.js';
import { redactDatabaseUrl, resolveDatabaseUrl } from '../src/db/database-url.js';

describe('openDatabase (embedded)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hh-open-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('migrates once, keeps data across reopen, and locks the data directory', async () => {
    const dataDir = join(dir, 'pgdata');
    const messages: string[] = [];
    const first = await openDatabase({ embedded: true, dataDir, logger: (m) => messages.push(m) });
    try {
      expect(first.embedded).toBe(true);
      expect(first.appliedMigrations).toEqual(MIGRATIONS.map((m) => m.name));
      await expect(openDatabase({ embedded: true, dataDir })).rejects.toThrow(/already open in this process|in use/);
      const em = first.orm.em.fork();
      em.create(HedgehogFabric, { name: 'persisted' });
      await em.flush();
    } finally {
      await first.close();
    }
    await first.close(); // idempotent

    const second = await openDatabase({ embedded: true, dataDir });
    try {
      expect(second.appliedMigrations).toEqual([]);
      const names = (await second.orm.em.fork().find(HedgehogFabric, {})).map((f) => f.name);
      expect(names).toEqual(['persisted']);
    } finally {
      await second.close();
    }
    expect(messages.some((m) => m.includes('applied'))).toBe(true);
  });

  test('a new data directory is created whole, replacing a half-made one; shared buffers are 16MB', async () => {
    const dataDir = join(dir, 'half-made');
    mkdirSync(join(dataDir, 'db'), { recursive: true });
    writeFileSync(join(dataDir, 'db', 'leftover'), 'an initdb that was interrupted');
    const server = await startEmbeddedPostgres({ dataDir });
    try {
      expect(readdirSync(dataDir).sort()).toEqual(['db', 'hh-sync.lock']); // no build directory left beside it
      expect(readdirSync(join(dataDir, 'db'))).toContain('PG_VERSION');
      expect(readdirSync(join(dataDir, 'db'))).not.toContain('leftover');
      const settings = await withPg(
        server.url,
        async (c) => (await c.query(`SELECT current_setting('shared_buffers') AS sb`)).rows[0],
      );
      expect(settings).toEqual({ sb: '16MB' });
    } finally {
      await server.stop();
    }
    await expect(startEmbeddedPostgres({ dataDir: 'memory', sharedBuffers: '16 MB; DROP' })).rejects.toThrow(
      /sharedBuffers must look like 16MB/,
    );
  });

  test('a data-directory dump is for an in-memory database only', async () => {
    await expect(
      startEmbeddedPostgres({ dataDir: join(dir, 'not-memory'), loadDataDir: new Blob([]) }),
    ).rejects.toThrow(/in-memory database .* only/);
  });

  test('migrate: false leaves the database empty', async () => {
    const db = await openDatabase({ embedded: true, dataDir: 'memory', migrate: false });
    try {
      expect(db.appliedMigrations).toEqual([]);
      expect(await db.orm.migrator.getPendingMigrations()).toHaveLength(MIGRATIONS.length);
    } finally {
      await db.close();
    }
  });
});

describe('database URL handling', () => {
  test('argument beats HH_SYNC_DATABASE_URL beats DATABASE_URL; none = embedded', () => {
    const env = { HH_SYNC_DATABASE_URL: 'postgres://a/x', DATABASE_URL: 'postgres://b/y' };
    expect(resolveDatabaseUrl('postgres://c/z', env)).toBe('postgres://c/z');
    expect(resolveDatabaseUrl(undefined, env)).toBe('postgres://a/x');
    expect(resolveDatabaseUrl(undefined, { DATABASE_URL: 'postgres://b/y' })).toBe('postgres://b/y');
    expect(resolveDatabaseUrl(undefined, {})).toBeUndefined();
  });

  test('redacts passwords', () => {
    expect(redactDatabaseUrl('postgres://u:s3cret@h:5432/db')).toBe('postgres://u:***@h:5432/db');
    expect(redactDatabaseUrl('postgres://u:s3cret@h/db?password=x')).not.toContain('s3cret');
    expect(redactDatabaseUrl('postgres://u@h/db')).toBe('postgres://u@h/db');
  });

  test('a connection failure never shows the password', async () => {
    const err = await openDatabase({ url: 'postgres://u:topsecret@127.0.0.1:1/db' }).catch((e: unknown) => e);
    expect(err).toHaveProperty('message');
    expect((err as Error).message).not.toContain('topsecret');
  });
});
