/** Statements about the database server itself, not the ledger's tables. */
import type { EntityManager } from '@mikro-orm/core';
import { query } from './sql.js';

/** One round trip: throws when the database cannot be reached. */
export async function ping(em: EntityManager): Promise<void> {
  await query(em, 'SELECT 1');
}

/** The server's `version()` string. */
export async function serverVersion(em: EntityManager): Promise<string> {
  const [row] = await query<{ v: string }>(em, 'SELECT version() AS v');
  return row?.v ?? '';
}

/** Savepoint names are SQL identifiers written into the statement: only these are taken. */
function savepointName(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`not a savepoint name: ${JSON.stringify(name)}`);
  return name;
}

/** SAVEPOINT, in the caller's transaction. */
export async function createSavepoint(em: EntityManager, name: string): Promise<void> {
  await query(em, `SAVEPOINT ${savepointName(name)}`);
}

/** ROLLBACK TO SAVEPOINT: undoes everything since the savepoint, which stays. */
export async function rollbackToSavepoint(em: EntityManager, name: string): Promise<void> {
  await query(em, `ROLLBACK TO SAVEPOINT ${savepointName(name)}`);
}

/** RELEASE SAVEPOINT: keeps what was done since it, and forgets it. */
export async function releaseSavepoint(em: EntityManager, name: string): Promise<void> {
  await query(em, `RELEASE SAVEPOINT ${savepointName(name)}`);
}
