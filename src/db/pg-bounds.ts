/**
 * The bounds every connection to the ledger gets, with or without MikroORM: a statement that goes unanswered
 * closes its connection, and a connection attempt that times out says which server and which bound. Shared by
 * openDatabase (the ORM's pool) and the CLI's reads on a plain `pg` client (src/cli/pg-fabric-reads.ts); this
 * module loads no MikroORM.
 */
import { databaseServer, maskDatabaseUrl } from './database-url.js';

/** Default client-side bound of one statement (OpenDatabaseOptions.statementTimeoutMs): 5 minutes. */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 5 * 60_000;
/** TCP keepalive probes start after this much silence, so a vanished peer is noticed by the OS too. */
export const KEEPALIVE_INITIAL_DELAY_MS = 30_000;

/** A connection attempt that timed out, as one line naming the server and the bound (password masked). */
export function connectTimeoutText(url: string, timeoutMs: number, reason: string): string {
  return maskDatabaseUrl(
    `cannot connect to ${databaseServer(url)}: no answer within ${timeoutMs / 1000} s (${reason})`,
    url,
  );
}

/** What pg's client-side query_timeout rejects a statement with. */
const PG_QUERY_TIMEOUT = 'Query read timeout';

type PgCallback = (err: Error | null, result?: unknown) => void;
export type RawPgClient = {
  query: (...args: unknown[]) => unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  connection?: { stream?: { destroy(): void } };
};

/**
 * A connected `pg` client as connectDatabase hands it out: what its callers use (statements with a callback, the
 * statement-timeout hook, end). Declared here rather than as `pg.Client`: pg's types are a development dependency
 * of this package, so a public declaration must not name them (see pg-connection-config.ts).
 */
export type ConnectedPgClient = RawPgClient & {
  query(text: string, values: unknown[], callback: (err: Error | null, result?: { rows: unknown[] }) => void): unknown;
  end(): Promise<void>;
};

// What pg says of a connection already lost: the server's reason came earlier, on the connection's 'error' event.
const PG_CONNECTION_LOST = /^(Client has encountered a connection error|Connection terminated unexpectedly)/;

/**
 * A pool hook (knex `afterCreate`): when pg's query_timeout gives up on a statement, close the connection. pg
 * alone leaves the unanswered statement in place, so the ROLLBACK that follows would queue behind it and the
 * connection, returned to the pool, would hang the next user; closed, it is discarded, and the server ends the
 * transaction (and its transaction-scoped fabric lock) when it sees the connection go. The error says what happened.
 */
export function closeOnStatementTimeout(timeoutMs: number) {
  return (conn: RawPgClient, done: (err: Error | null, conn: RawPgClient) => void): void => {
    // The first error the connection reported ("terminating connection due to administrator command", 57P01):
    // a later statement on it fails only with pg's "not queryable", so that error gets it as its cause and code.
    let lost: (Error & { code?: unknown }) | undefined;
    conn.on('error', (err) => (lost ??= err));
    const query = conn.query.bind(conn);
    conn.query = (...args: unknown[]) => {
      const callback = args[args.length - 1];
      if (typeof callback === 'function') {
        args[args.length - 1] = (err: Error | null, result?: unknown) => {
          if (err?.message === PG_QUERY_TIMEOUT) {
            err.message = `the database did not answer a statement within ${timeoutMs / 1000} s (statement timeout); the connection was closed`;
            conn.connection?.stream?.destroy();
          } else if (err && lost && err !== lost && PG_CONNECTION_LOST.test(err.message)) {
            Object.assign(err, { cause: lost, ...(typeof lost.code === 'string' ? { code: lost.code } : {}) });
          }
          (callback as PgCallback)(err, result);
        };
      }
      return query(...args);
    };
    done(null, conn);
  };
}
