/**
 * The connection settings a host may give for a dedicated `pg` connection (the watch's lease session), as our
 * own interface: the settings of `pg.ClientConfig` that make sense there, with the same types, so a
 * `pg.ClientConfig` a host already has is accepted as is. Declared here rather than taken from `pg` because
 * `pg`'s types live in `@types/pg`, a development dependency of this package: a public declaration naming them
 * would not compile for a consumer who does not install it.
 */
import type { ConnectionOptions } from 'node:tls';

export interface PgConnectionConfig {
  user?: string | undefined;
  database?: string | undefined;
  password?: string | (() => string | Promise<string>) | undefined;
  port?: number | undefined;
  host?: string | undefined;
  connectionString?: string | undefined;
  ssl?: boolean | ConnectionOptions | undefined;
  keepAlive?: boolean | undefined;
  keepAliveInitialDelayMillis?: number | undefined;
  statement_timeout?: false | number | undefined;
  query_timeout?: number | undefined;
  lock_timeout?: number | undefined;
  idle_in_transaction_session_timeout?: number | undefined;
  connectionTimeoutMillis?: number | undefined;
  application_name?: string | undefined;
  options?: string | undefined;
}
