/**
 * The embedded database's own thread (a worker thread, started by pglite-server-thread.ts): PGlite and the
 * pglite-socket server that serves it on a loopback port run here, never on the thread that uses the ledger.
 *
 * Why: PGlite runs each statement synchronously (PostgreSQL compiled to WebAssembly). On the caller's thread, a
 * batch upsert held its event loop for as long as PostgreSQL worked: no page of the next kind was read,
 * no JSON parsed, no timer fired (a client's statement timeout among them). Here the database works on one core
 * while the sync lists, validates and plans on the other, as it does beside a PostgreSQL server.
 *
 * Protocol (pglite-server-thread.ts): workerData is a ServerThreadInput; this thread posts one `listening`
 * (or `failed`) message; on `stop` it lets other processes' connections end (bounded), stops the server, closes
 * PGlite and posts `stopped`, after which the thread ends.
 */
import { readFileSync } from 'node:fs';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { gunzipSync } from 'node:zlib';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { withWholeExchanges } from './pglite-exchanges.js';
import type { ServerThreadInput, ServerThreadMessage, ServerThreadRequest } from './pglite-server-thread.js';

const input = workerData as ServerThreadInput;
const parent = ((): MessagePort => {
  if (!parentPort) throw new Error('pglite-server-worker runs as a worker thread only');
  return parentPort;
})();
const post = (message: ServerThreadMessage) => parent.postMessage(message);

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
    post({ type: 'failed', message: (err as Error).message || String(err) });
    parent.close();
    return;
  }
  post({ type: 'listening', port });
  const [s, d] = [server, db];
  // The one request there is: stop (ServerThreadRequest).
  parent.once('message', (request: ServerThreadRequest) => {
    void (async () => {
      let failure: string | undefined;
      try {
        // Other processes may be using this database through the port: let their work end before it goes away,
        // bounded, so a client that never disconnects cannot keep this process alive.
        if (request.drainMs > 0) await drainClients(s, request.drainMs);
        await s.stop();
      } catch (err) {
        failure = (err as Error).message;
      }
      try {
        await d.close();
      } catch (err) {
        failure ??= (err as Error).message;
      }
      post(failure === undefined ? { type: 'stopped' } : { type: 'stop-failed', message: failure });
      parent.close();
    })();
  });
}

await serve();
