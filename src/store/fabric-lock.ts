/**
 * The per-fabric transaction lock (a PostgreSQL advisory lock, released by COMMIT/ROLLBACK) with a bounded wait.
 * `SET LOCAL` cannot take bound parameters, so the timeout goes through set_config(…, true), which is
 * transaction-scoped the same way.
 */
import type { EntityManager } from '@mikro-orm/core';
import { query } from './sql.js';

/** First half of the two-int advisory key: a constant that marks our locks ("HH" + 1). */
export const LOCK_NAMESPACE = 0x4848_0001;

/**
 * Take the fabric's advisory lock in the current transaction of `em`, waiting at most `timeoutMs`; a wait that
 * runs out throws PostgreSQL's lock_not_available (55P03). The transaction's own lock_timeout (a host's
 * `SET LOCAL`, or the session's) is put back afterwards: only our wait is bounded by us.
 */
export async function lockFabric(em: EntityManager, fabricId: number, timeoutMs: number): Promise<void> {
  const [before] = await query<{ previous: string }>(em, `SELECT current_setting('lock_timeout') AS previous`);
  await setTransactionSetting(em, 'lock_timeout', `${Math.max(1, Math.round(timeoutMs))}ms`);
  try {
    await query(em, `SELECT pg_advisory_xact_lock(?::int, ?::int)`, [LOCK_NAMESPACE, fabricId]);
  } finally {
    await setTransactionSetting(em, 'lock_timeout', before?.previous ?? '0').catch(() => undefined);
  }
}

/** `SET LOCAL name = value`, with the value as a bound parameter. */
export async function setTransactionSetting(em: EntityManager, name: string, value: string): Promise<void> {
  await query(em, `SELECT set_config(?, ?, true)`, [name, value]);
}
