/**
 * The embedded database: PGlite (PostgreSQL compiled to WebAssembly) served on a
 * loopback TCP port by pglite-socket, so the ledger talks to it through the very
 * same `pg` driver and SQL as to a real server. Both run in a child process of their
 * own (pglite-server-child.ts), so the database's work never stops this process's, and that process starts with
 * the memory settings a library cannot give its own process.
 *
 * PGlite is one backend. pglite-socket multiplexes several client connections
 * onto it (a transaction keeps it exclusive until it ends); callers should still
 * keep their pools at one connection. The process that opened a data directory
 * serves it to the other hh-sync processes wanting it (port in the lock file).
 */
import { execFile } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { createConnection } from 'node:net';
import { basename, dirname, join, resolve } from 'node:path';
import pg from 'pg';
import { DEFAULT_CONNECT_TIMEOUT_MS } from './database-probe.js';
import { DEFAULT_DATA_DIR } from './default-data-dir.js';
import { findEmbeddedTemplate, restoreEmbeddedTemplate } from './embedded-template.js';
import { serverProcessArgument, startServerProcess, type ServerProcess } from './pglite-server-process.js';

/** Default data directory, relative to the working directory. */
export { DEFAULT_DATA_DIR };

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
  /** When another process holds the data directory: how long to wait for it to serve it while it is busy. Default 60 s. */
  holderWaitMs?: number;
  /**
   * When the holder's port accepts connections but the process says nothing at all (stopped with SIGSTOP, hung):
   * fail after this long instead of waiting `holderWaitMs`. Default 10 s (DEFAULT_CONNECT_TIMEOUT_MS).
   */
  connectTimeoutMs?: number;
  /** stop() waits this long for connections still open (other processes using the database). Default 30 s. */
  clientDrainMs?: number;
  /**
   * An in-memory database only: start from this PGlite data-directory dump (`PGlite.dumpDataDir()`) instead of
   * running initdb — about six times faster, which is what a test suite creating one database per file needs.
   */
  loadDataDir?: Blob;
  /**
   * How a new database is made, on disk or in memory: from the template the build made for the installed PGlite
   * (the default; initdb when there is none, or when it cannot be read), from this template file, or `false` for
   * initdb always (slow: 7–12 s). An in-memory database given `loadDataDir` starts from that instead.
   */
  template?: string | false;
}

export const DEFAULT_EMBEDDED_SHARED_BUFFERS = '16MB';

export interface EmbeddedPostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres (PGlite has no password). */
  url: string;
  /** Absolute data directory, or null when in memory. */
  dataDir: string | null;
  /** null: this process serves the database; else the pid of the process serving it, which this one joined. */
  servedBy: number | null;
  /** The pid of the database process this process started (its memory is not in this process's); null when joined. */
  serverPid: number | null;
  stop(): Promise<void>;
}

/** How long a process waits for the holder of a data directory to serve it. */
export const DEFAULT_HOLDER_WAIT_MS = 60_000;

/**
 * The data directory's lock file, mode 0600: `{"pid":…,"server":…,"port":…}` — the process that opened the
 * directory, the child process running its database (from before it opens any file), and the port, once served.
 */
interface LockRecord {
  pid: number;
  server?: number;
  port?: number;
}

/**
 * Whether the lock is held: its process lives, or the database process it started still does. A database process
 * outlives its owner for a moment when the owner is killed (it stops once it sees its channel close), and a second
 * PGlite on the same files before it is gone would corrupt them.
 */
function lockHeld(lock: LockRecord, dir: string): boolean {
  return isAlive(lock.pid) || (lock.server !== undefined && isDatabaseProcess(lock.server, join(dir, 'db')));
}

/**
 * The lock's database process, alive and serving `pgDir` — not a process that took its pid since, another
 * directory's database among them (its command line names what it serves: serverProcessArgument). Without /proc
 * to ask, alive is all there is to know.
 */
function isDatabaseProcess(pid: number, pgDir: string): boolean {
  if (!isAlive(pid)) return false;
  if (!existsSync('/proc/self')) return true;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return !isZombie(pid) && argv.includes(serverProcessArgument(pgDir));
  } catch {
    return false; // gone meanwhile
  }
}

/** Stopped (SIGSTOP, Ctrl-Z, a debugger): false where /proc cannot tell. */
function isStopped(pid: number | undefined): boolean {
  const state = pid === undefined ? undefined : processState(pid);
  return state === 'T' || state === 't';
}

function readLock(lockPath: string): LockRecord | 'unreadable' | 'missing' {
  let text: string;
  try {
    text = readFileSync(lockPath, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw err;
  }
  if (/^\d+$/.test(text)) return { pid: Number(text) }; // written by an older version: pid only
  try {
    const r = JSON.parse(text) as LockRecord;
    const positive = (n: unknown) => n === undefined || (Number.isInteger(n) && (n as number) > 0);
    if (Number.isInteger(r.pid) && r.pid > 0 && positive(r.port) && positive(r.server)) return r;
  } catch {
    /* being written, or damaged */
  }
  return 'unreadable';
}

/** Replaces the lock's content at once (rename), so a reader never sees half of it. */
function writeLock(lockPath: string, record: LockRecord): void {
  const tmp = `${lockPath}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(record), { mode: 0o600 });
  renameSync(tmp, lockPath);
}

type LockResult =
  | { owner: true; release: () => void; claimServer: (server: number) => void; publish: (port: number) => void }
  | { owner: false; holder: LockRecord };

/**
 * Two processes opening the same PGlite directory would corrupt it, so the data directory is locked with a pid
 * file; a lock whose process is gone is taken over. A live holder is not an error: it serves the database on the
 * port it publishes in the lock, and the caller connects through that (see startEmbeddedPostgres).
 */
function acquireLock(dir: string): LockResult {
  const lockPath = join(dir, 'hh-sync.lock');
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx', 0o600);
      writeSync(fd, JSON.stringify({ pid: process.pid }));
      closeSync(fd);
      let server: number | undefined;
      return {
        owner: true,
        release: () => rmSync(lockPath, { force: true }),
        claimServer: (pid) => writeLock(lockPath, { pid: process.pid, server: (server = pid) }),
        publish: (port) => writeLock(lockPath, { pid: process.pid, server, port }),
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const lock = readLock(lockPath);
    if (lock === 'missing') continue;
    if (lock === 'unreadable') {
      // Created an instant ago and not written yet — or left damaged: wait a little before taking it over.
      if (attempt < 10) {
        sleepSync(20);
        continue;
      }
    } else if (lock.pid === process.pid) {
      throw new Error(`embedded database ${dir} is already open in this process`);
    } else if (lockHeld(lock, dir)) {
      return { owner: false, holder: lock };
    }
    rmSync(lockPath, { force: true });
  }
  throw new Error(`could not lock embedded database ${dir}`);
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
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

/** The template file a new database starts from: the one given, none (`false`: initdb), or the build's. */
function templateFile(template: string | false | undefined): string | undefined {
  return template === false ? undefined : (template ?? findEmbeddedTemplate());
}

/**
 * Creates a new data directory. It is built beside its final place (`db.init-<our pid>`) and renamed into it, so
 * an interrupted creation never leaves a half-made database behind (the next start removes what is left:
 * cleanAbandonedSetups). Restored from the template when there is one (embedded-template.ts: a few hundred ms, in
 * this process); otherwise, or when the template cannot be restored, made by initdb in a child process.
 */
async function createDataDirectory(pgDir: string, template: string | false | undefined): Promise<void> {
  cleanAbandonedSetups(pgDir);
  if (existsSync(join(pgDir, 'PG_VERSION'))) return;
  const building = `${pgDir}${SETUP_MARK}${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  try {
    const tarball = templateFile(template);
    let restored = false;
    if (tarball) {
      try {
        await restoreEmbeddedTemplate(tarball, building);
        restored = true;
      } catch {
        // A damaged or foreign template costs time, never the database: initdb makes it as before.
        rmSync(building, { recursive: true, force: true });
      }
    }
    if (!restored) await initdbInChild(pgDir, building);
    rmSync(pgDir, { recursive: true, force: true }); // an empty or half-made directory from an older version
    renameSync(building, pgDir);
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
}

/**
 * initdb in a short-lived child process, into `building`. PGlite's initdb peaks near 800 MB of RSS, and V8 hands
 * that memory back only slowly: done in-process, it would make the first run of a synchronizer its heaviest by
 * far. The child's pid is recorded beside the directory (`db.init-<our pid>.child`) so that, when this process is
 * killed mid-way, the next start can end the orphaned child and remove its ~40 MB directory.
 */
async function initdbInChild(pgDir: string, building: string): Promise<void> {
  const childFile = `${building}.child`;
  const pglite = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  try {
    await new Promise<void>((done, fail) => {
      const child = execFile(
        process.execPath,
        ['-e', INIT_SCRIPT, pglite, building],
        { timeout: 120_000, maxBuffer: 1 << 20 },
        (err, _stdout, stderr) => {
          if (err)
            fail(
              new Error(
                `could not create the embedded database in ${pgDir}: ${stderr.trim().split('\n').slice(-3).join(' ') || err.message}`,
              ),
            );
          else done();
        },
      );
      if (child.pid !== undefined) writeFileSync(childFile, String(child.pid), { mode: 0o600 });
    });
  } finally {
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
  for (const until = Date.now() + 2000; Date.now() < until && isAlive(pid) && !isZombie(pid);) sleepSync(20);
}

function isZombie(pid: number): boolean {
  const state = processState(pid);
  return state === undefined || state === 'Z'; // unreadable: gone
}

/** The process's state letter from /proc/<pid>/stat (R, S, T, Z, …); undefined when it cannot be read. */
function processState(pid: number): string | undefined {
  try {
    return /^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/**
 * Waits (bounded) for the live holder of `dir` to publish its port and answer through it. Returns null when the
 * holder died meanwhile (the caller takes the lock over).
 *
 * Two kinds of "no" are told apart, since they deserve different waits: a holder that is alive but busy (all its
 * connections taken, or our handshake queued behind another client's transaction) answers its liveness ping and
 * is waited for, up to `waitMs`; a holder whose port accepts but that says nothing at all (a stopped or hung
 * process) fails within `silentMs`, the connection timeout.
 */
async function joinHolder(
  dir: string,
  first: LockRecord,
  waitMs: number,
  silentMs: number,
): Promise<EmbeddedPostgres | null> {
  const started = Date.now();
  const deadline = started + waitMs;
  let holder = first;
  let lastError = '';
  for (;;) {
    // Its owner is gone and its database process is stopping (lockHeld): nothing to join, wait for it to end.
    const orphaned = !isAlive(holder.pid);
    if (!orphaned && holder.port !== undefined) {
      const url = `postgres://postgres@127.0.0.1:${holder.port}/postgres`;
      const pingMs = Math.min(silentMs, Math.max(1, deadline - Date.now()));
      if ((await holderAnswers(holder, holder.port, pingMs)) === 'silent') {
        if (pingMs >= silentMs) {
          throw new Error(
            `embedded database ${dir} is in use by process ${holder.pid}, which serves it on 127.0.0.1:${holder.port} but did not answer ` +
              `(no answer at all within ${seconds(silentMs)} s, the connection timeout: is that process stopped or hung?); waited ${seconds(Date.now() - started)} s`,
          );
        }
        lastError = `no answer within ${seconds(pingMs)} s`; // cut short by the overall wait, which ends below
      } else {
        try {
          await probe(url, Math.max(1000, Math.min(5000, deadline - Date.now())));
          const server = `127.0.0.1:${holder.port}`;
          SHARED.set(server, holder.pid);
          // Nothing of ours runs; stop() forgets the holder, so a later server on a reused port is not taken for it.
          return {
            url,
            dataDir: dir,
            servedBy: holder.pid,
            serverPid: null,
            stop: () => Promise.resolve(void SHARED.delete(server)),
          };
        } catch (err) {
          lastError = (err as Error).message; // its connections are all taken, or it is busy: try again
        }
      }
    }
    if (Date.now() >= deadline) {
      if (orphaned)
        throw new Error(
          `embedded database ${dir} is still held by its database process ${holder.server}, started by process ${holder.pid}, which is gone ` +
            `(it ends within a second or two on its own unless it is stopped; if it does not, kill -9 it); waited ${Math.round(waitMs / 1000)} s`,
        );
      const why =
        holder.port === undefined
          ? 'which does not serve it (still starting, or an older hh-sync)'
          : `which serves it on 127.0.0.1:${holder.port} but did not answer (${lastError})`;
      throw new Error(
        `embedded database ${dir} is in use by process ${holder.pid}, ${why}; waited ${Math.round(waitMs / 1000)} s`,
      );
    }
    await new Promise((r) => setTimeout(r, orphaned ? 50 : 200));
    const now = readLock(join(dir, 'hh-sync.lock'));
    if (now === 'missing' || (now !== 'unreadable' && (now.pid !== holder.pid || !lockHeld(now, dir)))) return null;
    if (now !== 'unreadable') holder = now;
  }
}

function seconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}

/** PostgreSQL's SSLRequest: length 8, code 80877103. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/**
 * Does the holder answer? Its database process answers the ping even while the owner is stopped (SIGSTOP, Ctrl-Z),
 * yet a stopped owner in a transaction holds every other client until it runs again: a stopped owner (or database
 * process) that is still stopped after `timeoutMs` counts as silent, as a holder that does not answer at all.
 */
async function holderAnswers(holder: LockRecord, port: number, timeoutMs: number): Promise<'answered' | 'silent'> {
  if (!isStopped(holder.pid) && !isStopped(holder.server)) return pingHolder(port, timeoutMs);
  await new Promise((r) => setTimeout(r, timeoutMs));
  return isStopped(holder.pid) || isStopped(holder.server) ? 'silent' : pingHolder(port, timeoutMs);
}

/**
 * Is the process behind `port` alive? pglite-socket answers an SSLRequest at once ('N'), outside its query queue,
 * so a holder busy with another client's transaction still answers; so does one refusing a connection ("Too many
 * connections") or closing it. Only a process that does not run (SIGSTOP) or whose event loop is stuck says
 * nothing: 'silent' after `timeoutMs`.
 */
function pingHolder(port: number, timeoutMs: number): Promise<'answered' | 'silent'> {
  return new Promise((done) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const finish = (result: 'answered' | 'silent') => {
      clearTimeout(timer);
      socket.destroy();
      done(result);
    };
    const timer = setTimeout(() => finish('silent'), timeoutMs);
    socket.once('connect', () => socket.write(SSL_REQUEST));
    socket.once('data', () => finish('answered'));
    socket.once('close', () => finish('answered')); // refused or closed: a live answer, not silence
    socket.once('error', () => undefined); // followed by 'close'
  });
}

async function probe(url: string, timeoutMs: number): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  client.on('error', () => undefined); // a refused or dropped connection rejects connect()/query() below
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** How long stop() waits for other processes' connections to close. */
export const DEFAULT_CLIENT_DRAIN_MS = 30_000;

/** Database servers (`127.0.0.1:<port>`) this process reaches through another process that holds them → its pid. */
const SHARED = new Map<string, number>();

/**
 * The pid of the other process serving the embedded database at `host:port`, when this process joined it
 * (startEmbeddedPostgres found its data directory held); undefined otherwise.
 */
export function embeddedServedByOtherProcess(
  host: string | undefined,
  port: number | string | undefined,
): number | undefined {
  return SHARED.get(`${host ?? ''}:${port ?? ''}`);
}

/**
 * Starts PGlite and its socket server in a process of their own (pglite-server-child.ts); stop() shuts both down
 * and releases the data directory.
 *
 * When another live process holds the data directory, this connects through the loopback port that process
 * publishes in the lock instead (servedBy: its pid; stop() then only forgets it). PGlite is one backend:
 * pglite-socket runs one query at a time and keeps a client's transaction exclusive, so the processes' work is
 * serialized. Waits at most `holderWaitMs` for a busy holder to serve and answer, and at most `connectTimeoutMs`
 * for one whose port accepts but that says nothing at all (a stopped process).
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const inMemory = options.dataDir === 'memory';
  const sharedBuffers = options.sharedBuffers ?? DEFAULT_EMBEDDED_SHARED_BUFFERS;
  if (!/^\d+(kB|MB|GB)$/.test(sharedBuffers))
    throw new Error(
      `sharedBuffers must look like 16MB (a number and kB, MB or GB), got ${JSON.stringify(sharedBuffers)}`,
    );
  const dataDir = inMemory ? null : resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  if (options.loadDataDir && !inMemory)
    throw new Error('loadDataDir is for an in-memory database (dataDir: "memory") only');
  let release = () => {};
  let claimServer: (server: number) => void = () => {};
  let publish: (port: number) => void = () => {};
  if (dataDir) {
    // PGlite keeps its files in <dir>/db; the lock file sits beside it.
    mkdirSync(dataDir, { recursive: true });
    for (;;) {
      const lock = acquireLock(dataDir);
      if (lock.owner) {
        ({ release, claimServer, publish } = lock);
        break;
      }
      const joined = await joinHolder(
        dataDir,
        lock.holder,
        options.holderWaitMs ?? DEFAULT_HOLDER_WAIT_MS,
        options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      );
      if (joined) return joined;
    }
  }
  let server: ServerProcess | undefined;
  try {
    if (dataDir) await createDataDirectory(join(dataDir, 'db'), options.template);
    server = await startServerProcess(
      {
        pgDir: dataDir ? join(dataDir, 'db') : null,
        sharedBuffers,
        port: options.port ?? 0,
        maxConnections: options.maxConnections ?? 8,
        loadDataDir: options.loadDataDir ? await options.loadDataDir.arrayBuffer() : undefined,
        templateTarball: dataDir ? undefined : templateFile(options.template),
      },
      claimServer,
    );
    const url = `postgres://postgres@127.0.0.1:${server.port}/postgres`;
    // Other hh-sync processes find the port here and use this database through it.
    publish(server.port);
    let stopped = false;
    const s = server;
    return {
      url,
      dataDir,
      servedBy: null,
      serverPid: s.pid,
      async stop() {
        if (stopped) return;
        stopped = true;
        try {
          // Other processes may be using this database through the port (see joinHolder): their work ends first.
          await s.stop(dataDir ? (options.clientDrainMs ?? DEFAULT_CLIENT_DRAIN_MS) : 0);
        } finally {
          release();
        }
      },
    };
  } catch (err) {
    await server?.stop(0).catch(() => {});
    release();
    throw err;
  }
}
