/**
 * What a failure was and whose it was, as one line a person can read: the database's or server's own
 * message first, never the SQL statement MikroORM/knex put in front of it (that is for --verbose).
 * No database or Kubernetes code is imported: errors are recognised by name and code.
 */

/** Whose fault a failure is: it decides the hint a person gets (never "check the cluster" for a database error). */
export type FailureSource = 'database' | 'cluster' | 'git' | 'other';

// MikroORM's driver exceptions (DriverException and its subclasses) and our own database errors.
const DATABASE_ERROR_NAMES = /Exception$|^Database(Unavailable|Missing)Error$|^FabricBusyError$/;
const CLUSTER_ERROR_NAMES = new Set(['ClusterUnreachableError', 'KubeAuthError', 'KubeRequestError', 'KubeConfigError', 'MalformedResponseError']);
const GIT_ERROR_NAMES = new Set(['DesiredSourceError', 'GitCommandError']);
// Socket-level codes: on their own they could be either side, so they count as the database's only
// when the error did not come from the cluster reader (whose errors are named above).
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN']);
// knex prefixes a failed statement: "<sql> - <the server's message>", at the start of the message or after
// a MikroORM prefix ("Migration … failed: Original error: <sql> - …").
const SQL_START = /(^|:\s+)\s*(select|insert|update|delete|with|create|alter|drop|begin|commit|rollback|set|lock|savepoint|release|truncate|copy|do)\s/i;
const PG_MESSAGES = /^(Connection terminated|Client has encountered a connection error|terminating connection|Knex: Timeout)/;

export function failureSource(err: unknown): FailureSource {
  const e = err as { name?: string; code?: unknown; sqlState?: unknown } | undefined;
  const name = e?.name ?? '';
  if (CLUSTER_ERROR_NAMES.has(name)) return 'cluster';
  if (GIT_ERROR_NAMES.has(name)) return 'git';
  if (DATABASE_ERROR_NAMES.test(name)) return 'database';
  if (typeof e?.sqlState === 'string' || (typeof e?.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code))) return 'database';
  if (typeof e?.code === 'string' && SOCKET_CODES.has(e.code)) return 'database';
  if (PG_MESSAGES.test(errorText(err))) return 'database';
  return 'other';
}

/** The message without the SQL statement knex put before the server's message ("<sql> - <message>"). */
export function stripSql(message: string): string {
  const sql = SQL_START.exec(message);
  if (!sql) return message;
  const start = sql.index + sql[1]!.length;
  const cut = message.lastIndexOf(' - ');
  return cut > start ? `${message.slice(0, start)}${message.slice(cut + 3)}` : message;
}

/** The whole message (every line), without a leading SQL statement: what a run record keeps. */
export function errorMessageOf(err: unknown): string {
  const raw = err instanceof Error ? err.message : typeof err === 'string' ? err : String((err as { message?: unknown })?.message ?? err);
  return stripSql(raw).trim() || String((err as { name?: unknown })?.name ?? 'unknown error');
}

/** One line saying what went wrong: the first non-empty line of the message, SQL stripped. */
export function errorText(err: unknown): string {
  const message = errorMessageOf(err);
  return (message.split('\n').find((l) => l.trim() !== '') ?? message).trim();
}
