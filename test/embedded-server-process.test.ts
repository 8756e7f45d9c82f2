/**
 * The embedded database runs in a process of its own (src/db/pglite-server-child.ts): while PGlite works on a
 * statement, the process that uses the ledger keeps running — its timers fire, other I/O is served. On the caller's
 * thread (as it once ran), a long statement froze the whole process until it was done — and with it the ledger's
 * statement bound, the only one there is on PGlite. Also: a data directory PGlite cannot open is refused with the
 * directory named and its lock released; stop() ends the process; the process starts with its memory settings and
 * none of the caller's options; an owner killed with kill -9 leaves no database running, and the directory is not
 * taken over while its database process still runs; Ctrl-C to the terminal's process group leaves the database to
 * its owner, which can still roll back and close (so do SIGTERM and SIGHUP to the group).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  dir = mkdtempSync(path.join(tmpdir(), 'hh-server-process-'));
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
        // A 5 ms timer over ≥ 300 ms: ~60 ticks when this thread is free. With the database on this thread (as it
        // once ran) it got at most one or two (before the statement started and after it ended).
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
  // query_timeout, set by openDatabase) is the only one — and with the database on the caller's thread (as it once
  // ran) it could not fire before the statement ended.
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
  const handlesBefore = childProcessHandles();
  const dataDir = path.join(dir, 'damaged');
  mkdirSync(path.join(dataDir, 'db'), { recursive: true });
  writeFileSync(path.join(dataDir, 'db', 'PG_VERSION'), 'not a version\n');
  await expect(startEmbeddedPostgres({ dataDir })).rejects.toThrow(
    `could not open the embedded database (${path.join(dataDir, 'db')})`,
  );
  expect(existsSync(path.join(dataDir, 'hh-sync.lock'))).toBe(false);
  await expectChildProcessHandles(handlesBefore);
});

test('stop() ends the process and closes the port; the data directory opens again afterwards with its rows', async () => {
  const handlesBefore = childProcessHandles();
  const dataDir = path.join(dir, 'reopen');
  const first = await startEmbeddedPostgres({ dataDir });
  expect(alive(first.serverPid!)).toBe(true);
  await withPg(first.url, (c) => c.query('CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)'));
  const { port } = new URL(first.url);
  await first.stop();
  expect(alive(first.serverPid!)).toBe(false);
  await expectChildProcessHandles(handlesBefore);
  const refused = new pg.Client({
    host: '127.0.0.1',
    port: Number(port),
    user: 'postgres',
    connectionTimeoutMillis: 2000,
  });
  await expect(refused.connect()).rejects.toThrow(/ECONNREFUSED|terminated|timeout/);
  await expectKeptRow(dataDir, 42);
});

test('a process run as `node --input-type=module -e …` starts the embedded database (its database process takes none of its options)', () => {
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

/** This process's child-process handles (jest keeps one of its own). */
function childProcessHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'ProcessWrap').length;
}

/**
 * This process holds `count` child-process handles again. A child's handle is closed when it exits, but the close
 * completes a loop turn or two later (measured: two), after the start or stop has already settled; a child still
 * running keeps its handle, and the wait times out.
 */
async function expectChildProcessHandles(count: number): Promise<void> {
  await until(`${count} child-process handles remain`, () => childProcessHandles() === count, 2000);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Is `pid` stopped (SIGSTOP)? The kernel marks it so only once the process has taken the signal, not when kill() returns. */
function stopped(pid: number): boolean {
  try {
    return /^\d+ \(.*\) T/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function until(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  for (const end = Date.now() + ms; !check();) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("the database's process starts with its memory settings and none of the caller's Node options", async () => {
  // Jest runs with NODE_OPTIONS=--experimental-vm-modules: the database's process must not inherit it.
  process.env.NODE_OPTIONS ??= '--no-warnings';
  const db = await startEmbeddedPostgres({ dataDir: 'memory' });
  try {
    const pid = db.serverPid!;
    expect(pid).not.toBe(process.pid);
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(argv).toContain('--v8-pool-size=1');
    expect(argv.some((a) => a.endsWith('pglite-server-child.js'))).toBe(true);
    const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    expect(env).toContain('MALLOC_TRIM_THRESHOLD_=131072');
    expect(env.some((e) => e.startsWith('NODE_OPTIONS='))).toBe(false);
  } finally {
    await db.stop();
  }
});

test("an empty MALLOC_TRIM_THRESHOLD_ starts the database's process with glibc's own behaviour; a value given is kept", async () => {
  const saved = process.env.MALLOC_TRIM_THRESHOLD_;
  try {
    for (const [given, expected] of [
      ['', undefined],
      ['4194304', 'MALLOC_TRIM_THRESHOLD_=4194304'],
    ] as const) {
      process.env.MALLOC_TRIM_THRESHOLD_ = given;
      const db = await startEmbeddedPostgres({ dataDir: 'memory' });
      try {
        const env = readFileSync(`/proc/${db.serverPid}/environ`, 'utf8').split('\0');
        expect(env.find((e) => e.startsWith('MALLOC_TRIM_THRESHOLD_='))).toBe(expected);
      } finally {
        await db.stop();
      }
    }
  } finally {
    if (saved === undefined) delete process.env.MALLOC_TRIM_THRESHOLD_;
    else process.env.MALLOC_TRIM_THRESHOLD_ = saved;
  }
});

/** A process that opens `dataDir`, writes a row, runs `then`, prints its database process's pid, and waits. */
function startOwner(dataDir: string, then = '') {
  const script = `import { startEmbeddedPostgres } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'dist/src/db/embedded-postgres.js')).href)};
import pg from 'pg';
const db = await startEmbeddedPostgres({ dataDir: process.argv[1] });
const client = new pg.Client({ connectionString: db.url });
await client.connect();
await client.query('CREATE TABLE IF NOT EXISTS kept (v int); INSERT INTO kept VALUES (7)');
${then}
process.stdout.write(JSON.stringify({ server: db.serverPid }) + '\\n');
setInterval(() => {}, 1000);`;
  // Its own process group, as a command started from a terminal is: a signal to the group reaches its children too.
  const owner = spawn(process.execPath, ['--input-type=module', '-e', script, dataDir], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let out = '';
  let err = '';
  owner.stdout.on('data', (b: Buffer) => (out += b.toString()));
  owner.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | null>((r) => owner.once('exit', (code) => r(code)));
  const ready = (async () => {
    await until('the owner serves the database', () => out.includes('\n') || owner.exitCode !== null, 30_000);
    if (!out.includes('\n')) throw new Error(`the owner failed: ${err}`);
    return JSON.parse(out.split('\n')[0]!) as { server: number };
  })();
  return { owner, ready, exited, output: () => out, errors: () => err };
}

type Owner = ReturnType<typeof startOwner> & { server: number };

/** Runs `body` once an owner (startOwner) serves `dataDir`; after it, neither the owner nor its database process runs. */
async function withOwner(dataDir: string, then: string, body: (o: Owner) => Promise<void>): Promise<void> {
  const started = startOwner(dataDir, then);
  let server: number | undefined;
  try {
    server = (await started.ready).server;
    await body({ ...started, server });
  } finally {
    for (const pid of [started.owner.pid, server]) if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
  }
}

/** `dataDir` opens in this process, with the row its owner wrote (`v`). */
async function expectKeptRow(dataDir: string, v = 7): Promise<void> {
  const db = await startEmbeddedPostgres({ dataDir });
  try {
    const rows = await withPg(db.url, (c) => c.query<{ v: number }>('SELECT v FROM kept'));
    expect(rows.rows).toEqual([{ v }]);
  } finally {
    await db.stop();
  }
}

test('an owner killed with kill -9 leaves no database running; the directory waits for it, then opens with its rows', async () => {
  const dataDir = path.join(dir, 'killed-owner');
  await withOwner(dataDir, '', async ({ owner, server, exited }) => {
    // Held stopped, the orphaned database process cannot end: the directory must not be taken over meanwhile, or two
    // PGlites would write the same files.
    process.kill(server, 'SIGSTOP');
    await until('the database process is stopped', () => stopped(server));
    process.kill(owner.pid!, 'SIGKILL');
    await exited;
    const early = startEmbeddedPostgres({ dataDir, holderWaitMs: 600 });
    // Taken over anyway (the check broken): stop that second database before failing, so nothing is left running.
    await early.then(
      (db) => db.stop(),
      () => undefined,
    );
    await expect(early).rejects.toThrow(
      new RegExp(`still held by its database process ${server}, started by process ${owner.pid}, which is gone`),
    );
    // Let go, it sees its owner gone and stops by itself.
    process.kill(server, 'SIGCONT');
    await until('the orphaned database process stops', () => !alive(server));
    await expectKeptRow(dataDir);
  });
});

test.each([
  ['SIGINT', 'Ctrl-C in a terminal'],
  ['SIGTERM', "a service manager's stop (systemd signals every process of the service)"],
  ['SIGHUP', 'a closed terminal'],
])("%s to the owner's whole process group (%s): the database stays up for the owner's clean-up", async (signal) => {
  const dataDir = path.join(dir, `group-${signal}`);
  const onSigint = `process.on('${signal}', async () => {
  await new Promise((r) => setTimeout(r, 300));
  const { rows } = await client.query('SELECT count(*)::int AS n FROM kept');
  await client.end();
  await db.stop();
  process.stdout.write('cleaned up, rows: ' + rows[0].n + '\\n');
  process.exit(0);
});`;
  await withOwner(dataDir, onSigint, async ({ owner, server, exited, output, errors }) => {
    process.kill(-owner.pid!, signal); // to every process of the group
    expect(await exited).toBe(0);
    expect(output()).toContain('cleaned up, rows: 1');
    expect(errors()).toBe('');
    expect(alive(server)).toBe(false);
  });
});

/** Sent, not awaited: a statement PGlite works on for minutes (it runs to the end once started). */
const RUNAWAY_STATEMENT = `client.query('SELECT count(*) FROM generate_series(1, 3000000000)').catch(() => {});
await new Promise((r) => setTimeout(r, 300));`;

test('an owner that exits while its database is busy in a statement takes the database process with it', async () => {
  const exitSoon = `${RUNAWAY_STATEMENT}\nsetTimeout(() => process.exit(130), 200);`;
  await withOwner(path.join(dir, 'exit-busy'), exitSoon, async ({ server, exited }) => {
    await exited;
    await until('the database process ends with its owner', () => !alive(server), 3000);
  });
});

test('an owner killed with kill -9 while its database is busy in a statement: the database process ends within seconds', async () => {
  const dataDir = path.join(dir, 'killed-busy');
  await withOwner(dataDir, RUNAWAY_STATEMENT, async ({ owner, server, exited }) => {
    process.kill(owner.pid!, 'SIGKILL');
    await exited;
    // The statement would run for minutes; the watchdog gives it a second to stop by itself, then ends it.
    await until('the orphaned database process ends', () => !alive(server), 6000);
    await expectKeptRow(dataDir);
  });
});

test('an owner stopped (SIGSTOP) in a transaction: a joiner fails within the connection timeout, naming it', async () => {
  const dataDir = path.join(dir, 'stopped-owner');
  await withOwner(dataDir, `await client.query('BEGIN; INSERT INTO kept VALUES (8)');`, async ({ owner }) => {
    process.kill(owner.pid!, 'SIGSTOP');
    // Not yet stopped, the owner is only busy in its transaction, and the joiner rightly waits on it (up to 5 s a try):
    // under load, kill() returns well before the owner takes the signal.
    await until('the owner is stopped', () => stopped(owner.pid!));
    const t0 = Date.now();
    // Its database process still answers, but the stopped owner's transaction would hold the joiner for holderWaitMs.
    await expect(startEmbeddedPostgres({ dataDir, connectTimeoutMs: 1000, holderWaitMs: 30_000 })).rejects.toThrow(
      new RegExp(`in use by process ${owner.pid}, .*no answer at all within 1 s`),
    );
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});

test("a stale lock naming another directory's live database process as its server is taken over", async () => {
  const dataDir = path.join(dir, 'reused-pid');
  mkdirSync(dataDir, { recursive: true });
  const other = await startEmbeddedPostgres({ dataDir: 'memory' });
  try {
    const gone = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => gone.once('exit', r));
    // The owner is gone; the pid named as its server now runs a database, but of another directory.
    writeFileSync(path.join(dataDir, 'hh-sync.lock'), JSON.stringify({ pid: gone.pid, server: other.serverPid }));
    const db = await startEmbeddedPostgres({ dataDir, holderWaitMs: 2000 });
    expect(db.servedBy).toBeNull();
    await db.stop();
  } finally {
    await other.stop();
  }
});

test('a lock that cannot name the database process: the start fails, no process is left, and the caller can exit', () => {
  const dataDir = path.join(dir, 'unwritable-lock');
  // The lock is rewritten through a temporary file beside it: a directory in its place makes that write fail.
  const script = `import { mkdirSync } from 'node:fs';
import { startEmbeddedPostgres } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'dist/src/db/embedded-postgres.js')).href)};
mkdirSync(process.argv[1] + '/hh-sync.lock.' + process.pid + '.tmp', { recursive: true });
await startEmbeddedPostgres({ dataDir: process.argv[1] }).catch((err) => process.stdout.write(err.code));`;
  // Nothing left running may keep it alive: it ends by itself, or the timeout fails the test.
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script, dataDir], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  expect(out).toBe('EISDIR');
  expect(databaseProcessesOf(path.join(dataDir, 'db'))).toEqual([]);
});

/** The live processes whose command line says they serve `pgDir` (pglite-server-process.ts, serverProcessArgument). */
function databaseProcessesOf(pgDir: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(`--pgdata=${pgDir}`);
      } catch {
        return false;
      }
    })
    .map(Number)
    .filter(alive);
}

test('its database process killed under the owner: queries fail at once, stop() says why, the directory opens again', async () => {
  const dataDir = path.join(dir, 'database-killed');
  const db = await startEmbeddedPostgres({ dataDir });
  await withPg(db.url, (c) => c.query('CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)'));
  const client = new pg.Client({ connectionString: db.url });
  client.on('error', () => undefined); // the reset arrives as an event too; the query's rejection is what is checked
  await client.connect();
  try {
    process.kill(db.serverPid!, 'SIGKILL');
    await until('the database process is gone', () => !alive(db.serverPid!));
    await expect(client.query('SELECT 1')).rejects.toThrow();
  } finally {
    await client.end().catch(() => undefined);
  }
  await expect(db.stop()).rejects.toThrow(/its process ended \(signal SIGKILL\)/);
  await expectKeptRow(dataDir);
});
