/** Opening the ledger the global flags point at, with failures a person can act on. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_DATA_DIR } from '../db/default-data-dir.js';
import { redactDatabaseUrl, resolveDatabaseUrl } from '../db/database-url.js';
import type { Ledger, LedgerOptions } from '../ledger.js';
import type { LedgerDatabaseOptions, LedgerReader } from '../ledger-reader.js';
import { databaseFailureKind, databaseHint, errorText } from '../sync/error-text.js';
import { DATABASE_HINT, RuntimeFailure, UsageError, missingDatabaseLine } from './cli-errors.js';
import { checkedSeconds } from './cli-config.js';
import type { CliContext } from './cli-context.js';
import type { GlobalOptions, Output } from './cli-output.js';
import type { FabricReads } from './fabric-reads.js';

/** Where the ledger lives, decided from the flags and the environment (same order as `doctor`). */
export interface LedgerLocation {
  url?: string;
  /** Absolute embedded data directory when no URL applies. */
  dataDir?: string;
  /** The place, safe to show. */
  display: string;
}

export function ledgerLocation(
  opts: GlobalOptions,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): LedgerLocation {
  const url = resolveDatabaseUrl(opts.databaseUrl, env);
  if (url) return { url, display: redactDatabaseUrl(url) };
  const dataDir = resolve(cwd, opts.dataDir ?? DEFAULT_DATA_DIR);
  return { dataDir, display: `embedded ledger ${dataDir}` };
}

/**
 * Milliseconds one database connection attempt may take: --connect-timeout, else HH_SYNC_CONNECT_TIMEOUT
 * (seconds, fractions allowed); undefined = the library's default (10 s).
 */
export function connectTimeoutMs(opts: GlobalOptions, env: NodeJS.ProcessEnv = process.env): number | undefined {
  return secondsOption(
    opts.connectTimeout !== undefined
      ? ['--connect-timeout', opts.connectTimeout]
      : ['HH_SYNC_CONNECT_TIMEOUT', env.HH_SYNC_CONNECT_TIMEOUT],
    3600,
  );
}

/**
 * Milliseconds one database statement may go unanswered: --statement-timeout, else HH_SYNC_STATEMENT_TIMEOUT
 * (seconds, fractions allowed); undefined = the library's default (300 s).
 */
export function statementTimeoutMs(opts: GlobalOptions, env: NodeJS.ProcessEnv = process.env): number | undefined {
  return secondsOption(
    opts.statementTimeout !== undefined
      ? ['--statement-timeout', opts.statementTimeout]
      : ['HH_SYNC_STATEMENT_TIMEOUT', env.HH_SYNC_STATEMENT_TIMEOUT],
    86_400,
  );
}

/**
 * A number of seconds from a flag or an environment variable, in ms; a bad value is a usage error naming its source.
 * (The CLI resolves the variables and the settings file into the options first, cli-config.ts; the environment is
 * read here only by callers that skip that, such as `runDoctorCli`.)
 */
function secondsOption([source, value]: [string, string | undefined], maxSeconds: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  return Math.round(Number(checkedSeconds(value, maxSeconds, source)) * 1000);
}

/** The RuntimeFailure for a ledger that could not be opened: the server's own reason, one line, what to check. */
export function openFailure(err: unknown, where: LedgerLocation, action = 'open'): RuntimeFailure {
  if ((err as Error | null | undefined)?.name === 'DatabaseMissingError')
    return new RuntimeFailure(missingDatabaseLine(err as Error), undefined, { cause: err, kind: 'database' });
  const message = errorText(err);
  // A failed migration is not a server that is down: the schema and the migration table disagree.
  const migrationHint = databaseFailureKind(err) === 'migration' ? databaseHint('migration') : undefined;
  const hint = migrationHint
    ? migrationHint
    : where.url
      ? DATABASE_HINT
      : /in use by process/.test(message)
        ? 'stop the other hh-sync process using it, or pass another --data-dir'
        : 'check the --data-dir directory (or remove it to start afresh)';
  return new RuntimeFailure(`cannot ${action} the ledger (${where.display}): ${message}`, hint, {
    cause: err,
    kind: 'database',
  });
}

export interface OpenLedgerOptions {
  /** May a missing embedded ledger be created? (`fabric add`, `migrate`); otherwise it is a usage error. */
  create?: boolean;
  /** Extra facade options (sync reader hooks, …). */
  ledger?: Omit<
    LedgerOptions,
    'databaseUrl' | 'dataDir' | 'embedded' | 'logger' | 'connectTimeoutMs' | 'statementTimeoutMs'
  >;
}

/** Opens the ledger the flags point at; failures become one actionable line. */
export async function openLedgerFor(
  opts: GlobalOptions,
  out: Output,
  context: CliContext,
  o: OpenLedgerOptions = {},
): Promise<Ledger> {
  return openWith(opts, out, context, o, (options) => context.openLedger({ ...o.ledger, ...options }));
}

/**
 * Opens the ledger the flags point at for a command that only reads it or manages fabrics: the sync service, the
 * Kubernetes client and the Git code stay unloaded. Same checks and failures as openLedgerFor.
 */
export async function openReaderFor(
  opts: GlobalOptions,
  out: Output,
  context: CliContext,
  o: Pick<OpenLedgerOptions, 'create'> = {},
): Promise<LedgerReader> {
  return openWith(opts, out, context, o, (options) => context.openReader(options));
}

/**
 * Opens what `fabric list` and `drift` read (CliContext.openFabricReads: without MikroORM on an up-to-date
 * PostgreSQL ledger). Same checks and failures as openLedgerFor.
 */
export async function openFabricReadsFor(opts: GlobalOptions, out: Output, context: CliContext): Promise<FabricReads> {
  return openWith(opts, out, context, {}, (options) => context.openFabricReads(options));
}

async function openWith<T>(
  opts: GlobalOptions,
  out: Output,
  context: CliContext,
  o: Pick<OpenLedgerOptions, 'create'>,
  open: (options: LedgerDatabaseOptions) => Promise<T>,
): Promise<T> {
  const { env } = context;
  if (opts.databaseUrl && opts.dataDir) {
    throw new UsageError('--database-url and --data-dir exclude each other: one ledger at a time');
  }
  // A URL and a data directory from different places were settled with the other settings (cli-config.ts).
  const where = ledgerLocation(opts, env, context.cwd);
  if (where.dataDir) {
    const exists = existsSync(join(where.dataDir, 'db'));
    if (!exists && !o.create) {
      throw new UsageError(
        `no ledger at ${where.dataDir}: add a fabric first (\`hh-sync fabric add\`), or point at your ledger with --data-dir or --database-url`,
      );
    }
    if (!exists) out.info(`creating the embedded ledger in ${where.dataDir} (the first start takes a few seconds)`);
  }
  out.debug(`ledger: ${where.display}`);
  const timeout = connectTimeoutMs(opts, env);
  const statementTimeout = statementTimeoutMs(opts, env);
  try {
    return await open({
      databaseUrl: where.url,
      dataDir: where.dataDir,
      embedded: !where.url,
      connectTimeoutMs: timeout,
      statementTimeoutMs: statementTimeout,
      logger: out.logger(),
    });
  } catch (err) {
    throw openFailure(err, where);
  }
}
