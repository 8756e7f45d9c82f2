/**
 * Running the BUILT hh-sync binary (`node bin/hh-sync.js`, compiled by `npm run build`) in tests, and
 * giving it a ledger of its own:
 * - with HH_SYNC_TEST_DATABASE_URL / DATABASE_URL (CI): a fresh database on that server, passed as --database-url;
 * - otherwise: an embedded ledger in a temporary --data-dir (the CLI starts PGlite itself; the database
 *   URLs are removed from its environment so nothing else is picked up). A PGlite instance is a single
 *   backend, so the CLI never shares one with the test process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createEmptyDatabase, testServerUrl } from './database.js';
import { SETTING_VARIABLES } from '../../src/cli/cli-config.js';

export const BIN = resolve('bin', 'hh-sync.js');
const COMPILED = resolve('dist', 'src', 'cli', 'main.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** The environment of a spawned CLI: no database URLs, no forced colours, no jest NODE_OPTIONS. */
export function cliEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  // The global settings' variables too (a developer's HH_SYNC_OUTPUT must not change what the tests see).
  const dropped = new Set([...SETTING_VARIABLES, 'NODE_OPTIONS', 'FORCE_COLOR', 'NO_COLOR', 'CI']);
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !dropped.has(k)));
  return { ...env, ...extra };
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  /** Called with each stderr chunk (to react to a line, e.g. send a signal). */
  onStderr?: (chunk: string, child: ChildProcess) => void;
}

export function runCli(args: string[], opts: RunOptions = {}): Promise<CliResult> {
  if (!existsSync(COMPILED)) throw new Error('compiled CLI missing: run `npm run build` (npm test does)');
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd,
    env: opts.env ?? cliEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return collect(child, `hh-sync ${args.join(' ')}`, opts);
}

/** Gathers a spawned CLI's output until it exits; kills it and fails after `timeoutMs` (default 60 s). */
function collect(
  child: ChildProcess,
  what: string,
  opts: Pick<RunOptions, 'timeoutMs' | 'onStderr'>,
): Promise<CliResult> {
  const started = Date.now();
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((done, fail) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      opts.onStderr?.(d, child);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`${what} did not finish in ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      fail(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** A ledger for spawned CLIs: the flags that point at it, and how to dispose of it. */
export interface CliLedger {
  /** Global flags: ['--database-url', url] or ['--data-dir', dir]. */
  flags: string[];
  embedded: boolean;
  /** The temporary directory (embedded) or null. */
  dir: string | null;
  dispose(): Promise<void>;
}

export async function createCliLedger(): Promise<CliLedger> {
  if (testServerUrl()) {
    const db = await createEmptyDatabase();
    return { flags: ['--database-url', db.url], embedded: false, dir: null, dispose: () => db.drop() };
  }
  const dir = mkdtempSync(join(tmpdir(), 'hh-cli-ledger-'));
  return {
    flags: ['--data-dir', join(dir, 'pgdata')],
    embedded: true,
    dir,
    dispose: () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}

/** True when util-linux `script` can give a spawned CLI a pseudo-terminal. */
export function canRunInTty(): boolean {
  return process.platform === 'linux' && existsSync('/usr/bin/script');
}

/** hh-sync on a pseudo-terminal (`script`), for what only a terminal gets: progress bars and colours. */
export function runCliInTty(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliResult> {
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, BIN, ...args].map(quote).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    env: { ...(opts.env ?? cliEnv()), TERM: 'xterm' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return collect(child, `hh-sync ${args.join(' ')} (tty)`, opts);
}

/** True when the text holds ANSI escape sequences (colours, cursor movement). */
export function hasAnsi(text: string): boolean {
  // eslint-disable-next-line no-control-regex -- ESC is what starts an ANSI sequence
  return /\x1b\[/.test(text);
}

/** The lines of stderr that are hh-sync's own messages ("hh-sync: …"). */
export function messageLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('hh-sync:'));
}
