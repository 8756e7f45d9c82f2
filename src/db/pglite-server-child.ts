/**
 * The embedded database's own process (a child started by pglite-server-process.ts): PGlite and the pglite-socket
 * server that serves it on a loopback port run here, never in the process that uses the ledger.
 *
 * Why a process of its own: PGlite runs each statement synchronously (PostgreSQL compiled to WebAssembly), so it
 * cannot share a thread with the sync (a batch upsert would hold every timer and every read); and in a thread of the
 * sync's process, V8 compiling the 9 MB `pglite.wasm` on its background threads left memory the C allocator keeps,
 * which only settings given when a process starts return (docs/benchmarks.md, eighth slice). This process is
 * started with them.
 *
 * Protocol (pglite-server-process.ts), over the IPC channel: the first message is a ServerProcessInput; this process
 * sends one `listening` (or `failed`) message; on `stop` it lets other processes' connections end (bounded), stops
 * the server, closes PGlite, sends `stopped` and exits. When the channel closes without a `stop` — the process that
 * started it is gone (kill -9, a crash) — it stops the same way, at once: a database nobody can stop must not outlive
 * its owner, and the data directory's next owner waits for this process to end (embedded-postgres.ts, the lock).
 * Ctrl-C reaches every process of the terminal's group, and a service manager's SIGTERM every process of the
 * service (systemd's default), as a closed terminal's SIGHUP does: this process ignores all three, so the sync can
 * still roll back, record its run and close through it. Its owner stops it, or its owner's end does.
 */
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { gunzipSync } from 'node:zlib';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { withWholeExchanges } from './pglite-exchanges.js';
import type { ServerProcessInput, ServerProcessMessage, ServerProcessRequest } from './pglite-server-process.js';

if (!process.send) throw new Error('pglite-server-child runs as a child process with an IPC channel only');
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {});
watchForOwnersEnd(process.ppid);
/** Resolves once the message is handed to the channel (or the channel is gone), so exiting after it loses nothing. */
const post = (message: ServerProcessMessage) =>
  new Promise<void>((sent) => {
    if (!process.connected) sent();
    else process.send!(message, undefined, {}, () => sent());
  });
// Registered first: the owner may be gone while PGlite still opens, and an orphan must not go on to serve.
let ownerGone = false;
let stopForGoneOwner: (() => void) | undefined;
process.once('disconnect', () => {
  ownerGone = true;
  stopForGoneOwner?.();
});
const input = await new Promise<ServerProcessInput>((given) => process.once('message', given));

/**
 * An in-memory PGlite, from the dump given, else from the template (the same directory initdb makes, made by the
 * build): initdb in memory takes 7–12 s, loading the template well under one. A template that cannot be read or
 * loaded costs time, never the database: PGlite's own initdb runs instead.
 */
async function createInMemory(startParams: string[]): Promise<PGlite> {
  if (input.loadDataDir) return PGlite.create({ startParams, loadDataDir: new Blob([input.loadDataDir]) });
  if (input.templateTarball) {
    try {
      return await PGlite.create({
        startParams,
        loadDataDir: new Blob([gunzipSync(readFileSync(input.templateTarball))]),
      });
    } catch {
      // Falls through to initdb, as a damaged template does for a data directory.
    }
  }
  return PGlite.create({ startParams });
}

/**
 * The owner killed while this process is in a statement: PGlite runs it synchronously, so the channel's 'disconnect'
 * waits for it to end — maybe never (the owner's statement bound gave up on it, PGlite did not), with the data
 * directory locked meanwhile and every signal but SIGKILL ignored. A thread of its own sees the owner's end (this
 * process's parent changes) and, unless this process stopped by itself in the grace period, ends it, as a database
 * in a thread ended with its process. Unreferenced: it never keeps this process alive.
 */
function watchForOwnersEnd(owner: number): void {
  // How long this process may take to stop by itself once its owner is gone (a function, not a module constant:
  // it runs before the module's constants are set).
  const graceMs = 1000;
  const watchdog = new Worker(
    `const { workerData: w } = require('node:worker_threads');
    const timer = setInterval(() => {
      if (process.ppid === w.owner) return;
      clearInterval(timer);
      setTimeout(() => process.kill(process.pid, 'SIGKILL'), w.graceMs);
    }, 100);`,
    { eval: true, workerData: { owner, graceMs } },
  );
  watchdog.unref();
}

async function drainClients(server: PGLiteSocketServer, waitMs: number): Promise<void> {
  for (const until = Date.now() + waitMs; server.getStats().activeConnections > 0 && Date.now() < until;) {
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The port the server listens on, from its address ("127.0.0.1:<port>"); anything else is refused. */
function listeningPort(server: PGLiteSocketServer): number {
  const conn = server.getServerConn();
  const port = Number(conn.slice(conn.lastIndexOf(':') + 1));
  if (!Number.isInteger(port) || port <= 0) throw new Error(`pglite-socket reported an unusable address: ${conn}`);
  return port;
}

async function serve(): Promise<void> {
  let db: PGlite | undefined;
  let server: PGLiteSocketServer | undefined;
  let port: number;
  try {
    const startParams = [...PGlite.defaultStartParams, '-c', `shared_buffers=${input.sharedBuffers}`];
    db = input.pgDir ? await PGlite.create(input.pgDir, { startParams }) : await createInMemory(startParams);
    server = new PGLiteSocketServer({
      // Each client's query or extended-query sequence is served whole, never interleaved with another's.
      db: withWholeExchanges(db),
      host: '127.0.0.1',
      port: input.port,
      maxConnections: input.maxConnections,
    });
    await server.start();
    port = listeningPort(server);
  } catch (err) {
    await server?.stop().catch(() => {});
    await db?.close().catch(() => {});
    await post({ type: 'failed', message: (err as Error).message || String(err) });
    process.exit(1);
  }
  await post({ type: 'listening', port });
  const [s, d] = [server, db];
  let stopping = false;
  const stop = async (drainMs: number) => {
    if (stopping) return;
    stopping = true;
    let failure: string | undefined;
    try {
      // Other processes may be using this database through the port: let their work end before it goes away,
      // bounded, so a client that never disconnects cannot keep this process alive.
      if (drainMs > 0) await drainClients(s, drainMs);
      await s.stop();
    } catch (err) {
      failure = (err as Error).message;
    }
    try {
      await d.close();
    } catch (err) {
      failure ??= (err as Error).message;
    }
    await post(failure === undefined ? { type: 'stopped' } : { type: 'stop-failed', message: failure });
    process.exit(failure === undefined ? 0 : 1);
  };
  // The one request there is: stop (ServerProcessRequest).
  process.once('message', (request: ServerProcessRequest) => void stop(request.drainMs));
  // The owner is gone without a word (kill -9, a crash): nobody else can stop this database, so it stops now.
  stopForGoneOwner = () => void stop(0);
  if (ownerGone) stopForGoneOwner();
}

await serve();
