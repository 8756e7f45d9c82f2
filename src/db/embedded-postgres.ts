/**
 * The embedded database: PGlite (PostgreSQL compiled to WebAssembly) served on a
 * loopback TCP port by pglite-socket, so the ledger talks to it through the very
 * same `pg` driver and SQL as to a real server.
 *
 * PGlite is one backend. pglite-socket multiplexes several client connections
 * onto it (a transaction keeps it exclusive until it ends); callers should still
 * keep their pools at one connection.
 */
import { execFile } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/** Default data directory, relative to the working directory. */
export const DEFAULT_DATA_DIR = join('.hh-sync', 'pgdata');

export interface EmbeddedPostgresOptions {
  /** Directory holding the database files; `'memory'` keeps everything in memory. Default `.hh-sync/pgdata` under cwd. */
  dataDir?: string;
  /** Port to listen on; 0 (default) picks a free one. Always bound to 127.0.0.1. */
  port?: number;
  /** Client connections pglite-socket accepts at once (they share the one backend). Default 8. */
  maxConnections?: number;
  /**
   * PostgreSQL's shared_buffers for the embedded database. Default 16MB, not PostgreSQL's 128MB: PGlite's
   * buffers live in this process's memory, and a single-user ledger gains nothing measurable from more
   * (docs/benchmarks.md: same sync times at 16–128MB, 140 MB less peak RSS at 100,000 objects).
   */
  sharedBuffers?: string;
}

export const DEFAULT_EMBEDDED_SHARED_BUFFERS = '16MB';

export interface EmbeddedPostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres (PGlite has no password). */
  url: string;
  /** Absolute data directory, or null when in memory. */
  dataDir: string | null;
  stop(): Promise<void>;
}

/**
 * Two processes opening the same PGlite directory would corrupt it, so the data
 * directory is locked with a pid file; a lock whose process is gone is taken over.
 */
function acquireLock(dir: string): () => void {
  const lockPath = join(dir, 'hh-sync.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(lockPath, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number.parseInt(readFileSync(lockPath, 'utf8'), 10);
      if (Number.isInteger(owner) && owner !== process.pid && isAlive(owner)) {
        throw new Error(`embedded database ${dir} is in use by process ${owner}`);
      }
      if (owner === process.pid) {
        throw new Error(`embedded database ${dir} is already open in this process`);
      }
      rmSync(lockPath, { force: true });
    }
  }
  throw new Error(`could not lock embedded database ${dir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Run in a child process (`node -e SCRIPT <pglite module> <directory>`): create a data directory, nothing else. */
const INIT_SCRIPT = `const { PGlite } = require(process.argv[1]);
PGlite.create(process.argv[2]).then((db) => db.close()).catch((err) => { console.error(err && err.stack || err); process.exit(1); });`;

/**
 * Creates a new data directory (initdb) in a short-lived child process. PGlite's initdb peaks near
 * 800 MB of RSS, and V8 hands that memory back only slowly: done in-process, it would make the first run
 * of a synchronizer its heaviest by far, whatever the fabric's size. Opening an existing directory costs
 * about 250 MB. The directory is built beside its final place (`db.init-<our pid>`) and renamed into it,
 * so an interrupted initdb never leaves a half-made database behind; the child's pid is recorded beside it
 * (`db.init-<our pid>.child`) so that, when this process is killed mid-way, the next start can end the
 * orphaned child and remove its ~40 MB directory (cleanAbandonedSetups).
 */
async function createDataDirectory(pgDir: string): Promise<void> {
  cleanAbandonedSetups(pgDir);
  if (existsSync(join(pgDir, 'PG_VERSION'))) return;
  const building = `${pgDir}${SETUP_MARK}${process.pid}`;
  const childFile = `${building}.child`;
  rmSync(building, { recursive: true, force: true });
  const pglite = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  try {
    await new Promise<void>((done, fail) => {
      const child = execFile(process.execPath, ['-e', INIT_SCRIPT, pglite, building], { timeout: 120_000, maxBuffer: 1 << 20 }, (err, _stdout, stderr) => {
        if (err) fail(new Error(`could not create the embedded database in ${pgDir}: ${stderr.trim().split('\n').slice(-3).join(' ') || err.message}`));
        else done();
      });
      if (child.pid !== undefined) writeFileSync(childFile, String(child.pid), { mode: 0o600 });
    });
    rmSync(pgDir, { recursive: true, force: true }); // an empty or half-made directory from an older version
    renameSync(building, pgDir);
  } finally {
    rmSync(building, { recursive: true, force: true });
    rmSync(childFile, { force: true });
  }
}

/** `<data dir>/db.init-<pid of the creating process>`: a data directory being made (see createDataDirectory). */
const SETUP_MARK = '.init-';

/**
 * Removes what a creation killed mid-way left beside `pgDir` (the caller holds the data directory's lock, so no
 * creation is running): ends the orphaned initdb child, when it still runs, and deletes its directory.
 */
function cleanAbandonedSetups(pgDir: string): void {
  const parent = dirname(pgDir);
  const prefix = `${basename(pgDir)}${SETUP_MARK}`;
  for (const name of readdirSync(parent)) {
    if (!name.startsWith(prefix) || name.endsWith('.child')) continue;
    const building = join(parent, name);
    killOrphanedInit(building);
    rmSync(building, { recursive: true, force: true });
    rmSync(`${building}.child`, { force: true });
  }
}

/**
 * Kills the initdb child recorded for `building` if it still runs. Only when /proc/<pid>/cmdline shows it IS that
 * child (node -e … <building>): the pid of a long-dead child may belong to an unrelated process by now.
 */
function killOrphanedInit(building: string): void {
  let pid: number;
  let cmdline: string[];
  try {
    pid = Number.parseInt(readFileSync(`${building}.child`, 'utf8'), 10);
    if (!Number.isInteger(pid) || pid <= 0) return;
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return; // no record, or the process is gone (or no /proc: nothing we can check safely)
  }
  if (!cmdline.includes('-e') || cmdline.at(-2) !== building) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return; // exited meanwhile
  }
  // Give the kernel a moment, so the directory is not written to while it is removed.
  for (const until = Date.now() + 2000; Date.now() < until && isAlive(pid) && !isZombie(pid); ) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
}

function isZombie(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true; // gone
  }
}

/** Starts PGlite and its socket server; stop() shuts both down and releases the data directory. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const inMemory = options.dataDir === 'memory';
  const sharedBuffers = options.sharedBuffers ?? DEFAULT_EMBEDDED_SHARED_BUFFERS;
  if (!/^\d+(kB|MB|GB)$/.test(sharedBuffers)) throw new Error(`sharedBuffers must look like 16MB (a number and kB, MB or GB), got ${JSON.stringify(sharedBuffers)}`);
  const dataDir = inMemory ? null : resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  let release = () => {};
  if (dataDir) {
    // PGlite keeps its files in <dir>/db; the lock file sits beside it.
    mkdirSync(dataDir, { recursive: true });
    release = acquireLock(dataDir);
  }
  let db: PGlite | undefined;
  let server: PGLiteSocketServer | undefined;
  try {
    if (dataDir) await createDataDirectory(join(dataDir, 'db'));
    db = await PGlite.create(dataDir ? join(dataDir, 'db') : undefined, {
      startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${sharedBuffers}`],
    });
    server = new PGLiteSocketServer({
      db,
      host: '127.0.0.1',
      port: options.port ?? 0,
      maxConnections: options.maxConnections ?? 8,
    });
    await server.start();
    const conn = server.getServerConn(); // "127.0.0.1:<port>"
    const port = Number(conn.slice(conn.lastIndexOf(':') + 1));
    if (!Number.isInteger(port) || port <= 0) throw new Error(`pglite-socket reported an unusable address: ${conn}`);
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    let stopped = false;
    const [s, d] = [server, db];
    return {
      url,
      dataDir,
      async stop() {
        if (stopped) return;
        stopped = true;
        try {
          await s.stop();
        } finally {
          try {
            await d.close();
          } finally {
            release();
          }
        }
      },
    };
  } catch (err) {
    await server?.stop().catch(() => {});
    await db?.close().catch(() => {});
    release();
    throw err;
  }
}
