/**
 * hh-sync driven in this process (no spawn: a CLI start costs seconds on a loaded machine) through
 * `main(args, context)`: its own stdout and stderr buffers, its own environment, and optionally a ledger
 * opener reusing one open database. No globals are touched, so invocations may run side by side. For what
 * only a real process shows (its exit, a hang, signals, a terminal) use the spawned runner in ./cli.ts.
 */
import { Readable } from 'node:stream';
import { main } from '../../src/cli/main.js';
import type { CliContext } from '../../src/cli/cli-context.js';
import { openLedger, ledgerOnOrm } from '../../src/ledger.js';
import { redactDatabaseUrl } from '../../src/db/database-url.js';
import { cliEnv } from './cli.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

export interface InProcessOptions {
  /** The command's environment; default the spawned runner's (cliEnv(): no database URLs, no forced colours). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  openLedger?: CliContext['openLedger'];
  /** What the command reads on stdin (`-f -`); default nothing. */
  stdin?: string;
}

/** A stream that keeps what is written to it (not a terminal, as a spawned CLI's pipe). */
function buffer(): { write(text: string): boolean; text: string } {
  return {
    text: '',
    write(text: string) {
      this.text += text;
      return true;
    },
  };
}

export async function hh(args: string[], opts: InProcessOptions = {}): Promise<Captured> {
  const stdout = buffer();
  const stderr = buffer();
  const code = await main(args, {
    stdout,
    stderr,
    env: opts.env ?? cliEnv(),
    cwd: opts.cwd,
    stdin: Readable.from(opts.stdin === undefined ? [] : [Buffer.from(opts.stdin, 'utf8')]),
    openLedger: opts.openLedger,
  });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/**
 * A migrated test database opened once (a test file's beforeAll), and hh-sync runs pointed at it with
 * `flags`: they reuse its ORM instead of connecting, discovering entities and checking migrations each time
 * (most of a command's cost). Any other URL or --data-dir gets a ledger of its own, as in the real CLI.
 */
export interface SharedCliLedger {
  db: TestDatabase;
  /** ['--database-url', url]: the global flags pointing at the shared database. */
  flags: string[];
  openLedger: CliContext['openLedger'];
  /** hh-sync with `flags` prepended and the shared database's ORM reused. */
  hh(args: string[], opts?: Omit<InProcessOptions, 'openLedger'>): Promise<Captured>;
  close(): Promise<void>;
}

export async function createSharedCliLedger(): Promise<SharedCliLedger> {
  const db = await createTestDatabase();
  const shared: CliContext['openLedger'] = async (options) => {
    if (options.databaseUrl !== db.url) return openLedger(options);
    // The file's database stays open for the next command: closing this view of it does nothing.
    return ledgerOnOrm(db.orm, options, {
      location: redactDatabaseUrl(db.url),
      embedded: false,
      close: async () => {},
    });
  };
  const flags = ['--database-url', db.url];
  return {
    db,
    flags,
    openLedger: shared,
    hh: (args, opts = {}) => hh([...flags, ...args], { ...opts, openLedger: shared }),
    close: () => db.close(),
  };
}
