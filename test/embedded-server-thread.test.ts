/**
 * The embedded database runs in a thread of its own (src/db/pglite-server-worker.ts): while PGlite works on a
 * statement, the process that uses the ledger keeps running — its timers fire, other I/O is served. On the caller's
 * thread (as before), a long statement froze the whole process until it was done — and with it the ledger's
 * statement bound, the only one there is on PGlite. Also: a data directory PGlite cannot open is refused with the
 * directory named and its lock released, and stop() ends the thread.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres.js';
import { openDatabase } from '../src/db/open-database.js';
import { withPg } from './helpers/database.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'hh-server-thread-'));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('while the embedded database works on a long statement, the calling thread keeps running its timers', async () => {
  const db = await startEmbeddedPostgres({ dataDir: 'memory' });
  try {
    await withPg(db.url, async (client) => {
      // Grow the statement until it keeps PGlite busy for a measurable while, whatever the machine's speed.
      for (let rows = 100_000; ; rows *= 2) {
        let ticks = 0;
        const timer = setInterval(() => ticks++, 5);
        const started = performance.now();
        const result = await client.query<{ n: string }>('SELECT count(*) AS n FROM generate_series(1, $1::int)', [
          rows,
        ]);
        const ms = performance.now() - started;
        clearInterval(timer);
        expect(result.rows[0]!.n).toBe(String(rows));
        if (ms < 300 && rows < 10_000_000) continue;
        // A 5 ms timer over ≥ 300 ms: ~60 ticks when this thread is free. On the database's thread it got at most
        // one or two (before the statement started and after it ended).
        expect(ticks).toBeGreaterThanOrEqual(10);
        return;
      }
    });
  } finally {
    await db.stop();
  }
});

test("the ledger's statement bound holds on the embedded database: a statement that runs on is given up on time", async () => {
  // PGlite ignores statement_timeout (single-user PostgreSQL has no timer signal), so the client-side bound (pg's
  // query_timeout, set by openDatabase) is the only one — and on the database's own thread it could not fire before
  // the statement ended.
  // No migrations: on a loaded machine (CI runs the lint beside the tests) a migration's DDL alone can outrun 300 ms.
  const db = await openDatabase({ embedded: true, dataDir: 'memory', statementTimeoutMs: 300, migrate: false });
  try {
    const sql = (rows: number) => `SELECT count(*) FROM generate_series(1, ${rows})`;
    // A statement that runs ≥ 1.5 s on this machine (grown until it does), timed on a plain client without a bound.
    let rows = 500_000;
    for (;;) {
      const started = performance.now();
      await withPg(db.url, (c) => c.query(sql(rows)));
      if (performance.now() - started >= 1500 || rows >= 50_000_000) break;
      rows *= 2;
    }
    const started = performance.now();
    await expect(db.orm.em.getConnection().execute(sql(rows))).rejects.toThrow(/timeout/i);
    // Given up at its bound (300 ms), not when the statement ended (≥ 1,500 ms).
    expect(performance.now() - started).toBeLessThan(1000);
  } finally {
    await db.close();
  }
});

test('a data directory PGlite cannot open: refused with the directory named, nothing left running or locked', async () => {
  const dataDir = path.join(dir, 'damaged');
  mkdirSync(path.join(dataDir, 'db'), { recursive: true });
  writeFileSync(path.join(dataDir, 'db', 'PG_VERSION'), 'not a version\n');
  await expect(startEmbeddedPostgres({ dataDir })).rejects.toThrow(
    `could not open the embedded database (${path.join(dataDir, 'db')})`,
  );
  expect(existsSync(path.join(dataDir, 'hh-sync.lock'))).toBe(false);
  expect(process.getActiveResourcesInfo()).not.toContain('MessagePort');
});

test('stop() ends the thread and closes the port; the data directory opens again afterwards with its rows', async () => {
  const dataDir = path.join(dir, 'reopen');
  const first = await startEmbeddedPostgres({ dataDir });
  await withPg(first.url, (c) => c.query('CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)'));
  const { port } = new URL(first.url);
  await first.stop();
  expect(process.getActiveResourcesInfo()).not.toContain('MessagePort');
  const refused = new pg.Client({
    host: '127.0.0.1',
    port: Number(port),
    user: 'postgres',
    connectionTimeoutMillis: 2000,
  });
  await expect(refused.connect()).rejects.toThrow(/ECONNREFUSED|terminated|timeout/);
  const second = await startEmbeddedPostgres({ dataDir });
  try {
    const rows = await withPg(second.url, (c) => c.query<{ v: number }>('SELECT v FROM kept'));
    expect(rows.rows).toEqual([{ v: 42 }]);
  } finally {
    await second.stop();
  }
});

test('a process run as `node --input-type=module -e …` starts the embedded database (the thread takes none of its options)', () => {
  const script = `import { startEmbeddedPostgres } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'dist/src/db/embedded-postgres.js')).href)};
const db = await startEmbeddedPostgres({ dataDir: process.argv[1] });
await db.stop();
process.stdout.write('served');`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script, path.join(dir, 'eval')], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(out).toBe('served');
});
