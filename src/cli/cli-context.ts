/**
 * What a CLI invocation takes from its process: where output goes, the environment, the working directory,
 * and how a ledger is opened. bin/hh-sync.js runs with the process's own; tests drive `main(args, context)`
 * in-process with their own streams and environment (so invocations need no global spies and may run side
 * by side) and with a ledger opener that reuses one open database instead of connecting and migrating on
 * every command.
 */
import type { Ledger, LedgerOptions } from '../ledger.js';
import type { LedgerDatabaseOptions, LedgerReader } from '../ledger-reader.js';
import type { Stream } from './cli-output.js';
import type { FabricReads } from './fabric-reads.js';

export interface CliContext {
  stdout: Stream;
  stderr: Stream;
  /** What `-f -` reads (`draft apply`); tests feed text through it. */
  stdin: AsyncIterable<string | Uint8Array>;
  /** Database URLs, timeouts and colour settings are read from here. */
  env: NodeJS.ProcessEnv;
  /** Relative paths given on the command line (--data-dir, --dir, --out) are resolved against it. */
  cwd: string;
  /** Opens the ledger the flags point at; the command closes what it gets. */
  openLedger(options: LedgerOptions): Promise<Ledger>;
  /**
   * Opens it for the commands that only read it or manage fabrics (`fabric …`, `drift`): no sync service, so none
   * of the cluster and Git code is loaded. Defaults to `openLedger` when only that is given (a full ledger reads).
   */
  openReader(options: LedgerDatabaseOptions): Promise<LedgerReader>;
  /**
   * Opens what `fabric list` and `drift` read. By default, on an up-to-date PostgreSQL ledger, a plain `pg`
   * connection without MikroORM (src/cli/pg-fabric-reads.ts), else the reader; through `openReader` (or
   * `openLedger`) when a test gives one of those.
   */
  openFabricReads(options: LedgerDatabaseOptions): Promise<FabricReads>;
}

/** The context with anything not given taken from this process (the ledger code is loaded only when opened). */
export function cliContext(given: Partial<CliContext> = {}): CliContext {
  const openReader =
    given.openReader ??
    given.openLedger ??
    (async (options: LedgerDatabaseOptions) => (await import('../ledger-reader.js')).openLedgerReader(options));
  return {
    stdout: given.stdout ?? process.stdout,
    stderr: given.stderr ?? process.stderr,
    stdin: given.stdin ?? process.stdin,
    env: given.env ?? process.env,
    cwd: given.cwd ?? process.cwd(),
    openLedger: given.openLedger ?? (async (options) => (await import('../ledger.js')).openLedger(options)),
    openReader,
    openFabricReads:
      given.openFabricReads ??
      (given.openReader || given.openLedger
        ? async (options) => (await import('./fabric-reads.js')).readsOfReader(await openReader(options))
        : async (options) => (await import('./pg-fabric-reads.js')).openFabricReads(options)),
  };
}
