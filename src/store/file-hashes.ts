/** The file-sync bookkeeping of rows whose file the ledger itself rewrote (a publish). */
import type { EntityManager } from '@mikro-orm/core';
import { query } from './sql.js';

/**
 * Every row of the fabric declared in one of `files` gets that file's new hash (the ledger wrote it, so the next
 * desired sync must not take it for an external edit). A removed file (hash null) is left to the desired sync.
 */
export async function updateFileHashes(
  em: EntityManager,
  fabricId: number,
  files: readonly { path: string; hash: string | null }[],
  now: Date,
): Promise<void> {
  const written = files.filter((f) => f.hash !== null);
  if (written.length === 0) return;
  await query(
    em,
    `UPDATE hedgehog_resource r SET file_hash = f.hash, last_file_sync = ?::timestamptz
       FROM jsonb_to_recordset(?::jsonb) AS f(path text, hash text)
      WHERE r.fabric_id = ? AND r.desired_file_path = f.path AND r.file_hash IS DISTINCT FROM f.hash`,
    [now.toISOString(), JSON.stringify(written), fabricId],
  );
}
