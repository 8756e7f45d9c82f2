/**
 * The MikroORM CLI, exactly as a developer or CI runs it (`npx mikro-orm
 * migration:check|up|down`), against a fresh database. It loads the compiled
 * config (dist/mikro-orm.config.js), so `npm test` builds first.
 * migration:check runs in CI through this test.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MIGRATIONS, MIGRATIONS_TABLE, SNAPSHOT_NAME } from '../src/db/orm-config.js';
import { createTestDatabase, withPg, type TestDatabase } from './helpers/database.js';

const root = resolve('.');
const cli = join(root, 'node_modules', '.bin', 'mikro-orm');
const snapshotPath = join(root, 'src', 'migrations', `${SNAPSHOT_NAME}.json`);

function run(args: string[], url: string): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    const env = { ...process.env, DATABASE_URL: url, HH_SYNC_DATABASE_URL: url, FORCE_COLOR: '0', NODE_OPTIONS: '' };
    execFile(cli, args, { cwd: root, env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      done({ code, out: `${stdout}${stderr}` });
    });
  });
}

let db: TestDatabase;
beforeAll(async () => {
  const missing = [
    join(root, 'dist', 'mikro-orm.config.js'),
    ...MIGRATIONS.map((m) => join(root, 'dist', 'src', 'migrations', `${m.name}.js`)),
  ].filter((p) => !existsSync(p));
  if (missing.length > 0) throw new Error(`compiled output missing (${missing.join(', ')}): run npm run build`);
  db = await createTestDatabase({ migrate: false });
});
afterAll(async () => {
  // Declared as set, but unset here when the setup that assigns it failed or never ran.
  await (db as TestDatabase | undefined)?.close();
});

async function ourTables(): Promise<string[]> {
  return withPg(db.url, async (c) =>
    (
      await c.query(
        `select table_name from information_schema.tables where table_schema = 'public' and table_name <> $1 order by 1`,
        [MIGRATIONS_TABLE],
      )
    ).rows.map((r) => r.table_name as string),
  );
}

test('migration:check, up, check, down, check — and the committed snapshot is left alone', async () => {
  const snapshot = readFileSync(snapshotPath, 'utf8');

  let r = await run(['migration:check'], db.url);
  expect(r).toMatchObject({ code: 0 });
  expect(r.out).toMatch(/No changes required/);

  r = await run(['migration:up'], db.url);
  expect(r.code).toBe(0);
  expect(await ourTables()).toEqual([
    'fabric_crd_schema',
    'hedgehog_fabric',
    'hedgehog_resource',
    'state_transition',
    'sync_operation',
  ]);

  r = await run(['migration:check'], db.url);
  expect(r.code).toBe(0);

  r = await run(['migration:down', '--to', '0'], db.url);
  expect(r.code).toBe(0);
  expect(await ourTables()).toEqual([]);

  r = await run(['migration:check'], db.url);
  expect(r.code).toBe(0);
  expect(readFileSync(snapshotPath, 'utf8')).toBe(snapshot);
});
