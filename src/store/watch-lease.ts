/**
 * The watch lease's fencing check, run in a write's transaction (on the ledger's connection). The lease itself —
 * session advisory locks and heartbeats — lives on the lease backend's own pg connection and keeps its statements
 * there (src/watch/lease-backend.ts): they must run on that private session, never on a pooled one.
 */
import type { EntityManager } from '@mikro-orm/core';
import { setTransactionSetting } from './fabric-lock.js';
import { query } from './sql.js';

/**
 * First half of the two-int advisory key of watch leases ("HH" + 2). Deliberately not the per-run transaction lock's
 * LOCK_NAMESPACE (src/store/fabric-lock.ts): a watch holds its lease for hours and must not block one-shot syncs; its
 * own writes still take the per-run transaction lock, so the ledger's writes stay serialized.
 */
export const LOCK_NAMESPACE_WATCH = 0x4848_0002;

/** SQL: the database clock in epoch milliseconds (clock_timestamp, not the transaction's now()). */
export const DB_NOW_MS = `floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint`;
/** SQL: the heartbeat (epoch ms) at the end of a lease connection's application_name `a`, or NULL. */
export const HEARTBEAT_MS = (a: string) => `substring(${a}.application_name FROM ':(\\d+)$')::bigint`;

export interface LeaseSession {
  /** The lease connection's backend pid and start: together, the fencing token. */
  pid: number;
  backendStart: string;
  leasePeriodMs: number;
}

/**
 * True when the lease session still holds the fabric's watch lock and its heartbeat is within the lease period on
 * the database's clock. First bounds how long this transaction may sit idle to one lease period: a process frozen
 * inside it would keep the fabric's transaction lock, and with it the next holder's takeover, waiting.
 */
export async function watchLeaseHeld(em: EntityManager, session: LeaseSession, fabricId: number): Promise<boolean> {
  await setTransactionSetting(em, 'idle_in_transaction_session_timeout', `${session.leasePeriodMs}ms`);
  const [row] = await query<{ ok: boolean }>(
    em,
    `SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                     WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND l.pid = ?
                       AND a.backend_start = ?::timestamptz
                       AND ${DB_NOW_MS} - ${HEARTBEAT_MS('a')} <= ?
                       AND l.classid::bigint = ? AND l.objid::bigint = ?
                       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())) AS ok`,
    [session.pid, session.backendStart, session.leasePeriodMs, LOCK_NAMESPACE_WATCH, fabricId],
  );
  return row!.ok;
}
