/**
 * What a failure was and whose it was, as one line a person can read: the database's or server's own
 * message first, never the SQL statement MikroORM/knex put in front of it (that is for --verbose).
 * No database or Kubernetes code is imported: errors are recognised by name and code.
 */

/** Whose fault a failure is: it decides the hint a person gets (never "check the cluster" for a database error). */
export type FailureSource = 'database' | 'cluster' | 'git' | 'other';

// MikroORM's driver exceptions (DriverException and its subclasses) and our own database errors.
const DATABASE_ERROR_NAMES = /Exception$|^Database(Unavailable|Missing)Error$|^FabricBusyError$|^MigrationError$/;
const CLUSTER_ERROR_NAMES = new Set([
  'ClusterUnreachableError',
  'KubeAuthError',
  'KubeRequestError',
  'KubeConfigError',
  'MalformedResponseError',
]);
const GIT_ERROR_NAMES = new Set(['DesiredSourceError', 'GitCommandError']);
// Socket-level codes: on their own they could be either side, so they count as the database's only
// when the error did not come from the cluster reader (whose errors are named above).
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
]);
// knex prefixes a failed statement: "<sql> - <the server's message>", at the start of the message or after
// a MikroORM prefix ("Migration … failed: Original error: <sql> - …").
const SQL_START =
  /(^|:\s+)\s*(select|insert|update|delete|with|create|alter|drop|begin|commit|rollback|set|lock|savepoint|release|truncate|copy|do)\s/i;
const PG_MESSAGES =
  /^(Connection terminated|Client has encountered a connection error|terminating connection|Knex: Timeout|Migration \S+ \((up|down)\) failed: )/;

export function failureSource(err: unknown): FailureSource {
  const e = err as { name?: string; code?: unknown; sqlState?: unknown } | undefined;
  const name = e?.name ?? '';
  if (CLUSTER_ERROR_NAMES.has(name)) return 'cluster';
  if (GIT_ERROR_NAMES.has(name)) return 'git';
  if (DATABASE_ERROR_NAMES.test(name)) return 'database';
  if (typeof e?.sqlState === 'string' || (typeof e?.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)))
    return 'database';
  if (typeof e?.code === 'string' && SOCKET_CODES.has(e.code)) return 'database';
  if (PG_MESSAGES.test(errorText(err))) return 'database';
  return 'other';
}

/**
 * What kind of database failure, for the hint: only a lost or unreachable server gets "check that PostgreSQL is
 * running"; a lock wait has its own advice; a migration that failed means the schema and its migration table
 * disagree; a statement the server refused (a constraint, a type) is about the ledger's schema or data.
 */
export type DatabaseFailureKind = 'connection' | 'busy' | 'migration' | 'statement';

// SQLSTATEs of a connection that failed or was lost, or of a server in trouble: class 08 (connection exception),
// 28 (authorization), 3D000 (no such database), 53 (disk full, out of memory, too many connections), 57P01-57P05
// (server shut down, terminated, starting up), 57014 (statement cancelled: our statement timeout on a silent
// server), 58 (I/O error), XX (internal error). None is about the ledger's schema.
const CONNECTION_STATES = /^(08...|28...|3D000|53...|57P0[1-5]|57014|58...|XX...)$/;
const CONNECTION_MESSAGES =
  /^(Connection terminated|Client has encountered a connection error|Client was closed|terminating connection|Knex: Timeout|timeout expired|cannot connect to|the database did not answer)/;
const MIGRATION_MESSAGE = /^Migration \S+ \((up|down)\) failed: /;

export function databaseFailureKind(err: unknown): DatabaseFailureKind {
  const e = err as { name?: string; code?: unknown } | undefined;
  if (e?.name === 'FabricBusyError') return 'busy';
  if (e?.name === 'MigrationError' || MIGRATION_MESSAGE.test(errorText(err))) return 'migration';
  for (const c of causeChain(err)) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string' && (SOCKET_CODES.has(code) || CONNECTION_STATES.test(code))) return 'connection';
    if (
      (c as { name?: string }).name === 'ConnectionException' ||
      (c as { name?: string }).name === 'DatabaseUnavailableError'
    )
      return 'connection';
    if (CONNECTION_MESSAGES.test(errorText(c))) return 'connection';
  }
  return 'statement';
}

export const DATABASE_CONNECTION_HINT =
  'check the ledger database (--database-url / HH_SYNC_DATABASE_URL / DATABASE_URL) and that PostgreSQL is running';

/** What to do about a database failure of this kind, in one clause; none for a lock wait (its message says it). */
export function databaseHint(kind: DatabaseFailureKind): string | undefined {
  if (kind === 'connection') return DATABASE_CONNECTION_HINT;
  if (kind === 'migration')
    return "the ledger's schema and its migration table (mikro_orm_migrations) disagree; run `hh-sync doctor` to see how";
  if (kind === 'statement')
    return 'check the ledger database: it refused a statement (`hh-sync doctor` checks its schema)';
  return undefined;
}

/** The error and its causes (`cause`), first the error itself; at most a few, a cycle ends it. */
function causeChain(err: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = err; e != null && chain.length < 5 && !chain.includes(e); e = (e as { cause?: unknown }).cause)
    chain.push(e);
  return chain;
}

// What MikroORM's PostgreSqlExceptionConverter appends to the message ("\n - detail: …", "\n - hint: …").
const APPENDIX = /\n - (detail|hint): /;

/**
 * The message without the SQL statement knex put before the server's message ("<sql> - <message>") and without
 * the lines MikroORM appended after it ("\n - detail: Failing row contains (…)", kilobytes of row data).
 */
export function stripSql(message: string): string {
  const appendix = APPENDIX.exec(message);
  return cutSql(appendix ? message.slice(0, appendix.index) : message);
}

function cutSql(message: string): string {
  const sql = SQL_START.exec(message);
  if (!sql) return message;
  const start = sql.index + sql[1]!.length;
  const cut = message.lastIndexOf(' - ');
  return cut > start ? `${message.slice(0, start)}${message.slice(cut + 3)}` : message;
}

/** The message with the detail and hint lines MikroORM appended removed, using the error's own fields when it has them. */
function withoutAppendix(message: string, err: unknown): { message: string; exact: boolean } {
  let exact = false;
  for (const field of ['hint', 'detail'] as const) {
    const value = (err as Record<string, unknown> | undefined)?.[field];
    if (typeof value !== 'string' || !value.trim()) continue;
    const suffix = `\n - ${field}: ${value}`;
    if (message.endsWith(suffix)) {
      message = message.slice(0, -suffix.length);
      exact = true;
    }
  }
  return { message, exact };
}

/** A server's DETAIL worth a person's reading ("Key (name)=(x) already exists."); never a row dump. */
function shortDetail(err: unknown): string | undefined {
  const detail = (err as { detail?: unknown } | undefined)?.detail;
  if (
    typeof detail !== 'string' ||
    /^Failing row contains/.test(detail) ||
    detail.length > 200 ||
    /[\r\n]/.test(detail)
  )
    return undefined;
  return detail.trim() || undefined;
}

function rawMessage(err: unknown): string {
  return err instanceof Error
    ? err.message
    : typeof err === 'string'
      ? err
      : String((err as { message?: unknown } | null | undefined)?.message ?? err);
}

/** The server's own message: no SQL before it, no detail or hint lines after it. */
function ownMessage(err: unknown): string {
  const { message, exact } = withoutAppendix(rawMessage(err), err);
  // With the appendix removed by the error's own fields, a " - detail: " inside the SQL's values cannot mislead the cut.
  return (exact ? cutSql(message) : stripSql(message)).trim();
}

// Messages that only say a connection is unusable: the reason is in their cause (the server's own words).
const WRAPPER_MESSAGES = /^(Client has encountered a connection error|Connection terminated unexpectedly)/;

/**
 * The whole message (every line) a run record keeps: the server's own message first, never the SQL statement
 * or a row dump; a short DETAIL (which key) in brackets; a wrapper's cause ("terminating connection due to
 * administrator command") before the wrapper's words; a failed migration's cause without its SQL.
 */
export function errorMessageOf(err: unknown): string {
  const own = ownMessage(err);
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  if (cause != null && cause !== err) {
    const migration = MIGRATION_MESSAGE.exec(own);
    if (migration && (err as { name?: string }).name === 'MigrationError')
      return `${migration[0]}${errorMessageOf(cause)}`;
    if (WRAPPER_MESSAGES.test(own)) return `${errorMessageOf(cause)} (${own})`;
  }
  const detail = shortDetail(err);
  const message = detail ? `${own} (${detail})` : own;
  const name = (err as { name?: unknown } | null | undefined)?.name ?? 'unknown error';
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a thrown value's name can be anything: shown as String() shows it
  return message || String(name);
}

/** One line saying what went wrong: the first non-empty line of the message, SQL stripped. */
export function errorText(err: unknown): string {
  const message = errorMessageOf(err);
  return (message.split('\n').find((l) => l.trim() !== '') ?? message).trim();
}
