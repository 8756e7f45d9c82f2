/**
 * One connection attempt before the ORM is started, bounded by a timeout, so a database that cannot be
 * used is reported with the server's own reason at once — not as the pool's "Timeout acquiring a
 * connection" after a minute, and never by creating a database that a typo named.
 */
import pg from 'pg';
import { databaseName, databaseServer, maskDatabaseUrl } from './database-url.js';
import type { ConnectedPgClient } from './pg-bounds.js';
import type { PgConnectionConfig } from './pg-connection-config.js';

/** Default bound of one connection attempt (overridden by `connectTimeoutMs`, the CLI's --connect-timeout). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** The database server could not be reached, did not answer in time, or refused us. */
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
  constructor(
    message: string,
    /** The driver's or server's code (ECONNREFUSED, ETIMEDOUT, 28P01, …). */
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The server answered, but the database the URL names does not exist (and creating it was not asked for). */
export class DatabaseMissingError extends Error {
  override name = 'DatabaseMissingError';
  readonly code = '3D000';
  constructor(
    readonly database: string,
    readonly server: string,
  ) {
    super(
      `database "${database}" does not exist on ${server} — create it, or open the ledger with createDatabase (hh-sync migrate --create-database)`,
    );
  }
}

/** The one line the driver gives for a failed connection (node's AggregateError carries no message of its own). */
function connectFailureText(err: unknown): { text: string; code: string } {
  const e = err as Error & { code?: string; errors?: Error[] };
  const inner = e.errors?.find((x) => (x as { code?: string }).code) as { code?: string } | undefined;
  const code = e.code ?? inner?.code ?? 'ECONNECT';
  const text = e.message || e.errors?.map((x) => x.message).join('; ') || code;
  return { text: text.split('\n')[0]!, code };
}

/**
 * Connects once and disconnects. Resolves `'exists'` or `'missing'` (the server says the database does not
 * exist); throws DatabaseUnavailableError for anything else, its message naming the server and the reason.
 */
export async function probeDatabase(
  url: string,
  timeoutMs: number = DEFAULT_CONNECT_TIMEOUT_MS,
): Promise<'exists' | 'missing'> {
  const client = await connectDatabase(url, timeoutMs);
  if (client === 'missing') return 'missing';
  await client.end().catch(() => undefined);
  return 'exists';
}

/**
 * One connection attempt as probeDatabase makes it, keeping the connection: the client (with `config` applied),
 * `'missing'` when the database does not exist, or DatabaseUnavailableError. The caller ends the client; a socket
 * error on it after connect is ignored unless the caller listens for it (the process must not crash on one).
 */
export async function connectDatabase(
  url: string,
  timeoutMs: number = DEFAULT_CONNECT_TIMEOUT_MS,
  config: Omit<PgConnectionConfig, 'connectionString' | 'connectionTimeoutMillis'> = {},
): Promise<ConnectedPgClient | 'missing'> {
  const client = new pg.Client({ ...config, connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return client;
  } catch (err) {
    await client.end().catch(() => undefined);
    if ((err as { code?: string }).code === '3D000') return 'missing';
    const { text, code } = connectFailureText(err);
    const why = /timeout/i.test(text) ? `no answer within ${Math.round(timeoutMs / 100) / 10} s (${text})` : text;
    throw new DatabaseUnavailableError(
      maskDatabaseUrl(`cannot connect to ${databaseServer(url)}: ${why}`, url),
      /timeout/i.test(text) ? 'ETIMEDOUT' : code,
      { cause: err },
    );
  }
}

/** The error for a missing database, naming it and its server (never the password). */
export function missingDatabase(url: string): DatabaseMissingError {
  return new DatabaseMissingError(databaseName(url), databaseServer(url));
}
