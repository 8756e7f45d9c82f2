/**
 * Is a failed ledger write a database outage (wait for the database, then relist) or a refusal by a database
 * that answers (a constraint, a schema that does not fit our INSERTs, a data error)? Treating a refusal as an
 * outage relists in a loop: the database "answers again" at once and refuses the same write again.
 */
import { databaseFailureKind } from '../sync/error-text.js';

/** SQLSTATE classes and codes that mean the database is unreachable, restarting or too busy: transient. */
const OUTAGE_CLASSES = new Set(['08', '53', '57', '40']);
/** Lock and statement timeouts: a busy or frozen database, not a refusal. */
const OUTAGE_CODES = new Set(['55P03', '57014']);

/** The SQLSTATE of a PostgreSQL error, however the driver or the ORM wrapped it. */
export function sqlState(err: unknown): string | undefined {
  for (
    let e = err as { code?: unknown; sqlState?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    e = e.cause as typeof e, depth++
  ) {
    for (const v of [e.sqlState, e.code]) if (typeof v === 'string' && /^[0-9A-Z]{5}$/.test(v)) return v;
  }
  return undefined;
}

/**
 * True when the write failed because the database could not be reached or could not answer in time. An error
 * without a SQLSTATE is an outage when error-text's classification calls it a lost or unreachable connection
 * (a socket error, a pool timeout, a terminated connection) or a lock wait; anything else — a bug of ours, say —
 * is not: it would fail again the moment the database "answers again". Any other SQLSTATE (class 23 constraint
 * violations, 22 data errors, 42 schema errors, …) is a refusal.
 */
export function isDatabaseOutage(err: unknown): boolean {
  const state = sqlState(err);
  if (state === undefined) {
    const kind = databaseFailureKind(err);
    return kind === 'connection' || kind === 'busy';
  }
  return OUTAGE_CLASSES.has(state.slice(0, 2)) || OUTAGE_CODES.has(state);
}
