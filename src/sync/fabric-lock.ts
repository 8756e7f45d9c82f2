/**
 * Per-fabric mutual exclusion with PostgreSQL advisory locks.
 *
 * Sync runs take a transaction-scoped lock (released by COMMIT/ROLLBACK, so a crashed process can never
 * leave a fabric locked): src/store/fabric-lock.ts. Watch replicas take a session-scoped lock on a dedicated
 * connection (see src/watch/lease-backend.ts): the lock lives exactly as long as that connection.
 */
import type { EntityManager } from '@mikro-orm/core';
import { lockFabric } from '../store/fabric-lock.js';

export { LOCK_NAMESPACE } from '../store/fabric-lock.js';

export class FabricBusyError extends Error {
  constructor(
    public readonly fabric: string,
    waitedMs: number,
  ) {
    super(`another sync run holds fabric "${fabric}" (waited ${waitedMs} ms); try again when it finishes`);
    this.name = 'FabricBusyError';
  }
}

/** Take the fabric's advisory lock inside the current transaction of `em`, waiting at most `timeoutMs`. */
export async function lockFabricForTransaction(
  em: EntityManager,
  fabricId: number,
  fabricName: string,
  timeoutMs: number,
): Promise<void> {
  try {
    await lockFabric(em, fabricId, timeoutMs);
  } catch (err) {
    if ((err as { code?: string }).code === '55P03') throw new FabricBusyError(fabricName, timeoutMs);
    throw err;
  }
}
