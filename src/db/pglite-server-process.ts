/**
 * Starts the embedded database in a process of its own (pglite-server-child.ts: PGlite and its socket server) and
 * gives back its port, its pid and a way to stop it. Everything else — the data directory, its lock, the template,
 * joining another process's server — stays with the caller (embedded-postgres.ts).
 */
import { fork } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { templateDirectory } from './embedded-template.js';

/** What the database's process is given (its first message). */
export interface ServerProcessInput {
  /** PGlite's data directory, or null for an in-memory database. */
  pgDir: string | null;
  /** PostgreSQL's shared_buffers (`16MB`). */
  sharedBuffers: string;
  port: number;
  maxConnections: number;
  /** In memory only: a PGlite data-directory dump to start from. */
  loadDataDir?: ArrayBuffer;
  /** In memory only, without loadDataDir: the template to start from (else initdb). */
  templateTarball?: string;
}

export type ServerProcessRequest = { type: 'stop'; drainMs: number };

export type ServerProcessMessage =
  | { type: 'listening'; port: number }
  | { type: 'failed'; message: string }
  | { type: 'stopped' }
  | { type: 'stop-failed'; message: string };

export interface ServerProcess {
  port: number;
  /** The database process's pid (the data directory's lock names it: embedded-postgres.ts). */
  pid: number;
  /** Waits up to `drainMs` for other connections to close, then stops the server and closes PGlite. */
  stop(drainMs: number): Promise<void>;
}

/** This project's modules the database's process runs: its script and what that imports. */
const CHILD_MODULES = ['pglite-server-child', 'pglite-exchanges'];

/**
 * The child's script: beside this module when it runs compiled. From the TypeScript sources (ts-jest), the build's
 * copy, which `npm test` makes first (as it makes the template: embedded-template.ts, templateDirectory) — refused
 * when missing or older than its source, so no test runs yesterday's database process against today's code.
 */
function childScript(): string {
  const beside = fileURLToPath(new URL('./pglite-server-child.js', import.meta.url));
  if (existsSync(beside)) return beside;
  for (const name of CHILD_MODULES) {
    const built = join(templateDirectory(), `${name}.js`);
    const source = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
    if (!existsSync(built) || (existsSync(source) && statSync(built).mtimeMs < statSync(source).mtimeMs))
      throw new Error(
        `the embedded database's process runs ${built}, missing or older than its source: run npm run build`,
      );
  }
  return join(templateDirectory(), 'pglite-server-child.js');
}

/**
 * How the database's process starts (docs/benchmarks.md, eighth slice). V8 compiles PGlite's 9 MB of WebAssembly on
 * its background threads, and glibc keeps what they freed: `MALLOC_TRIM_THRESHOLD_` makes it give that back, and one
 * V8 background thread leaves one such arena. Measured at 100,000 objects: the first sync's peak (both processes)
 * 460–498 MB against 513–527 MB without it. The price is time on small syncs — glibc then maps memory anew where it
 * would have reused it: the 10,000-object first sync took 0.89–0.96 s against 0.75–0.76 s without (the same at
 * 100,000, within the noise). A value the user set is kept; an empty one leaves glibc's default. None of
 * the caller's Node options (`execArgv`, `NODE_OPTIONS`): the database needs none, and some break it — `--inspect`
 * would bind the caller's debug port twice, `--input-type=module` refuses a script file.
 */
const SERVER_PROCESS_EXEC_ARGV = ['--v8-pool-size=1'];

/** A send's failure, given a callback, is not an 'error' event: the process's exit says why it is gone. */
const ignoreSendError = () => undefined;

function serverProcessEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  // A value the user gave is kept; an empty one leaves glibc's own behaviour (the time back, the memory kept).
  if (env.MALLOC_TRIM_THRESHOLD_ === undefined) env.MALLOC_TRIM_THRESHOLD_ = '131072';
  else if (env.MALLOC_TRIM_THRESHOLD_ === '') delete env.MALLOC_TRIM_THRESHOLD_;
  return env;
}

/**
 * The argument that names the database a process serves, on its command line: how a lock's `server` pid is told
 * from another process that took the pid since (embedded-postgres.ts).
 */
export function serverProcessArgument(pgDir: string | null): string {
  return `--pgdata=${pgDir ?? 'memory'}`;
}

/**
 * Starts the process, hands it `input` and waits until it serves the database, or rejects with why it could not
 * (naming the data directory). `onSpawn` learns its pid before it opens anything (the lock must name it then). A
 * process that dies later (PGlite aborting, killed) ends every connection; stop() then rejects with why.
 */
export function startServerProcess(input: ServerProcessInput, onSpawn?: (pid: number) => void): Promise<ServerProcess> {
  const where = input.pgDir ?? 'memory';
  const child = fork(childScript(), [serverProcessArgument(input.pgDir)], {
    execArgv: SERVER_PROCESS_EXEC_ARGV,
    env: serverProcessEnv(),
    // ArrayBuffers (loadDataDir) cross the channel as bytes, not as JSON.
    serialization: 'advanced',
    // Its stdout would land in ours, which is JSON with --json: anything it prints goes to stderr.
    stdio: ['ignore', 2, 2, 'ipc'],
  });
  let crash: Error | undefined;
  let serving = false;
  child.on('error', (err) => {
    crash ??= err;
    if (serving) process.emitWarning(`the embedded database (${where}) stopped: ${err.message}`, 'EmbeddedDatabase');
  });
  let stopping: Promise<void> | undefined;
  const exit = new Promise<string>((done) =>
    child.once('exit', (code, signal) => done(signal ? `signal ${signal}` : `exit code ${code}`)),
  );
  void exit.then((how) => {
    // Ended by itself (PGlite aborting) or killed while serving, with no error to report above: say so.
    if (serving && !stopping && !crash)
      process.emitWarning(`the embedded database (${where}) stopped: its process ended (${how})`, 'EmbeddedDatabase');
  });
  let outcome: ServerProcessMessage | undefined;
  child.on('message', (m: ServerProcessMessage) => {
    if (m.type === 'stopped' || m.type === 'stop-failed') outcome = m;
  });
  const stop = (drainMs: number): Promise<void> => {
    stopping ??= new Promise<void>((done, fail) => {
      void exit.then((how) => {
        if (outcome?.type === 'stop-failed') fail(new Error(`embedded database (${where}): ${outcome.message}`));
        else if (outcome?.type === 'stopped') done();
        else fail(crash ?? new Error(`embedded database (${where}): its process ended (${how})`));
      });
      // A process already gone fails the send (EPIPE); its exit, awaited above, is the reason to report.
      if (child.connected) child.send({ type: 'stop', drainMs } satisfies ServerProcessRequest, ignoreSendError);
    });
    return stopping;
  };
  // This process ending by itself (process.exit, an uncaught error) takes its database along, as a thread did; one
  // killed outright leaves it to notice on its own (pglite-server-child.ts).
  const killChild = () => child.kill('SIGKILL');
  process.once('exit', killChild);
  void exit.then(() => process.off('exit', killChild));
  const pid = child.pid;
  try {
    if (pid !== undefined) onSpawn?.(pid);
  } catch (err) {
    // The lock could not name it (a full disk): it has opened nothing yet, and must not run on unnamed.
    child.kill('SIGKILL');
    return exit.then(() => Promise.reject(err as Error));
  }
  if (child.connected) child.send(input, ignoreSendError);
  return new Promise<ServerProcess>((started, failed) => {
    let refusal: Error | undefined;
    // Not started at all (no node to run, too many processes): 'exit' may never come.
    if (pid === undefined) child.once('error', failed);
    // Settled once the process is gone, so a caller told "no" has nothing of it left running.
    void exit.then((how) =>
      failed(
        refusal ?? crash ?? new Error(`embedded database (${where}): its process ended (${how}) before serving it`),
      ),
    );
    child.once('message', (m: ServerProcessMessage) => {
      if (m.type === 'listening' && pid !== undefined) {
        serving = true;
        started({ port: m.port, pid, stop });
      } else if (m.type === 'failed')
        refusal = new Error(`could not open the embedded database (${where}): ${m.message}`);
    });
  });
}
