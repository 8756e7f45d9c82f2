/**
 * Starts the embedded database in its own worker thread (pglite-server-worker.ts: PGlite and its socket server)
 * and gives back its port and a way to stop it. Everything else — the data directory, its lock, the template,
 * joining another process's server — stays with the caller (embedded-postgres.ts).
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { templateDirectory } from './embedded-template.js';

/** What the server thread is given (its workerData). */
export interface ServerThreadInput {
  /** PGlite's data directory, or null for an in-memory database. */
  pgDir: string | null;
  /** PostgreSQL's shared_buffers (`16MB`). */
  sharedBuffers: string;
  port: number;
  maxConnections: number;
  /** In memory only: a PGlite data-directory dump to start from (moved to the thread, not copied). */
  loadDataDir?: ArrayBuffer;
  /** In memory only, without loadDataDir: the template to start from (else initdb). */
  templateTarball?: string;
}

export type ServerThreadRequest = { type: 'stop'; drainMs: number };

export type ServerThreadMessage =
  | { type: 'listening'; port: number }
  | { type: 'failed'; message: string }
  | { type: 'stopped' }
  | { type: 'stop-failed'; message: string };

export interface ServerThread {
  port: number;
  /** Waits up to `drainMs` for other connections to close, then stops the server and closes PGlite. */
  stop(drainMs: number): Promise<void>;
}

/** This project's modules the thread runs: its script and what that imports. */
const THREAD_MODULES = ['pglite-server-worker', 'pglite-exchanges'];

/**
 * The thread's script: beside this module when it runs compiled. From the TypeScript sources (ts-jest), the build's
 * copy, which `npm test` makes first (as it makes the template: embedded-template.ts, templateDirectory) — refused
 * when missing or older than its source, so no test runs yesterday's thread against today's code.
 */
function workerScript(): URL {
  const beside = new URL('./pglite-server-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  for (const name of THREAD_MODULES) {
    const built = join(templateDirectory(), `${name}.js`);
    const source = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
    if (!existsSync(built) || (existsSync(source) && statSync(built).mtimeMs < statSync(source).mtimeMs))
      throw new Error(
        `the embedded database's thread runs ${built}, missing or older than its source: run npm run build`,
      );
  }
  return pathToFileURL(join(templateDirectory(), 'pglite-server-worker.js'));
}

/**
 * Starts the thread and waits until it serves the database, or rejects with why it could not (naming the data
 * directory). A thread that dies later (PGlite aborting) ends every connection; stop() then rejects with its error.
 */
export function startServerThread(input: ServerThreadInput): Promise<ServerThread> {
  const where = input.pgDir ?? 'memory';
  const transfer = input.loadDataDir ? [input.loadDataDir] : [];
  // None of the caller's Node options: the thread needs none, and some refuse a worker's script file (a caller run
  // as `node --input-type=module -e …` would otherwise fail to start the database: ERR_INPUT_TYPE_NOT_ALLOWED).
  const worker = new Worker(workerScript(), { workerData: input, transferList: transfer, execArgv: [] });
  let crash: Error | undefined;
  let serving = false;
  worker.on('error', (err) => {
    crash ??= err;
    // Once it serves, nothing awaits the thread until stop(): its connections end, and this says why (stderr), as
    // the uncaught error it was when PGlite ran on the caller's thread.
    if (serving) process.emitWarning(`the embedded database (${where}) stopped: ${err.message}`, 'EmbeddedDatabase');
  });
  let stopping: Promise<void> | undefined;
  const exit = new Promise<number>((done) => worker.once('exit', done));
  void exit.then((code) => {
    // Ended by itself (PGlite exiting, say) while serving, with no error to report above: say so too.
    if (serving && !stopping && !crash)
      process.emitWarning(
        `the embedded database (${where}) stopped: its thread ended (exit code ${code})`,
        'EmbeddedDatabase',
      );
  });
  let outcome: ServerThreadMessage | undefined;
  worker.on('message', (m: ServerThreadMessage) => {
    if (m.type !== 'stopped' && m.type !== 'stop-failed') return;
    outcome = m;
    // PGlite is closed and the server stopped: nothing in the thread is left to finish, so it is ended at once.
    void worker.terminate();
  });
  const stop = (drainMs: number): Promise<void> => {
    stopping ??= new Promise<void>((done, fail) => {
      void exit.then((code) => {
        if (outcome?.type === 'stop-failed') fail(new Error(`embedded database (${where}): ${outcome.message}`));
        else if (outcome?.type === 'stopped') done();
        else fail(crash ?? new Error(`embedded database (${where}): its thread ended with exit code ${code}`));
      });
      worker.postMessage({ type: 'stop', drainMs } satisfies ServerThreadRequest);
    });
    return stopping;
  };
  return new Promise<ServerThread>((started, failed) => {
    let refusal: Error | undefined;
    // Settled once the thread is gone, so a caller told "no" has nothing of it left running.
    void exit.then((code) =>
      failed(
        refusal ??
          crash ??
          new Error(`embedded database (${where}): its thread ended (exit code ${code}) before serving it`),
      ),
    );
    worker.once('message', (m: ServerThreadMessage) => {
      if (m.type === 'listening') {
        serving = true;
        started({ port: m.port, stop });
      } else if (m.type === 'failed')
        refusal = new Error(`could not open the embedded database (${where}): ${m.message}`);
    });
  });
}
