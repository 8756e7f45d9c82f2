/**
 * Per-fabric mutual exclusion with PostgreSQL advisory locks.
 *
 * Sync runs take a transaction-scoped lock (released by COMMIT/ROLLBACK, so a crashed process can never
 * leave a fabric locked). Watch replicas take a session-scoped lock on a dedicated connection (see
 * src/watch/lease-backend.ts): the lock lives exactly as long as that connection.
 */
import type { EntityManager } from '@mikro-orm/core';
import { query } from './sql.js';

/** First half of the two-int advisory key: a constant that marks our locks ("HH" + 1). */
export const LOCK_NAMESPACE = 0x4848_0001;

export class FabricBusyError extends Error {
  constructor(public readonly fabric: string, waitedMs: number) {
    super(`another sync run holds fabric "${fabric}" (waited ${waitedMs} ms); try again when it finishes`);
    this.name = 'FabricBusyError';
  }
}

/**
 * Take the fabric's advisory lock inside the current transaction of `em`, waiting at most `timeoutMs`.
 * `lock_timeout` applies to advisory locks too, and `set_config(..., true)` scopes it to this transaction;
 * afterwards the transaction's own setting (a host's `SET LOCAL`, or the session's) is put back.
 */
export async function lockFabricForTransaction(
  em: EntityManager,
  fabricId: number,
  fabricName: string,
  timeoutMs: number,
): Promise<void> {
  const [before] = await query<{ previous: string }>(em, `SELECT current_setting('lock_timeout') AS previous`);
  await query(em, `SELECT set_config('lock_timeout', ?, true)`, [`${Math.max(1, Math.round(timeoutMs))}ms`]);
  try {
    await query(em, `SELECT pg_advisory_xact_lock(?::int, ?::int)`, [LOCK_NAMESPACE, fabricId]);
  } catch (err) {
    if ((err as { code?: string }).code === '55P03') throw new FabricBusyError(fabricName, timeoutMs);
    throw err;
  } finally {
    // Only our lock wait is bounded by us; the rest of the transaction keeps the setting it had.
    await query(em, `SELECT set_config('lock_timeout', ?, true)`, [before?.previous ?? '0']).catch(() => undefined);
  }
}
