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
