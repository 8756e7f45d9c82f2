/**
 * `sync_operation` rows: one per run (one-shot or watch window). The records are written outside the runs'
 * data transactions (see src/sync/run-envelope.ts); closing abandoned runs happens inside them, under the lock.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { SyncOperationStatus, SyncOperationType } from '../entities/enums.js';
import { query } from './sql.js';

/** What a finished run records on its row. */
export interface RunOutcomeRow {
  status: SyncOperationStatus;
  listed: number;
  created: number;
  updated: number;
  unchanged: number;
  cleared: number;
  failed: number;
  commitSha: string | null;
  errorMessage: string | null;
  errors: unknown[];
  skippedKinds: unknown[];
  otherKinds: Record<string, number>;
  details: Record<string, unknown>;
}

/** A new run row, `in_progress` from the database's now(). */
export async function insertRun(
  em: EntityManager,
  fabricId: number,
  type: SyncOperationType,
): Promise<{ id: number; startedAt: Date }> {
  const [row] = await query<{ id: number; started_at: Date }>(
    em,
    `INSERT INTO sync_operation (fabric_id, type, status, started_at) VALUES (?, ?, 'in_progress', now()) RETURNING id, started_at`,
    [fabricId, type],
  );
  return { id: row!.id, startedAt: new Date(row!.started_at) };
}

/**
 * Close a run row with its outcome; returns the database's finished_at. Hand-written rather than
 * em.nativeUpdate: the row's finish time is the database's now(), read back with RETURNING in the same round trip.
 */
export async function finishRun(em: EntityManager, runId: number, r: RunOutcomeRow): Promise<Date> {
  const [row] = await query<{ finished_at: Date }>(
    em,
    `UPDATE sync_operation SET status = ?, finished_at = now(), listed = ?, created = ?, updated = ?, unchanged = ?,
       cleared = ?, failed = ?, commit_sha = ?, error_message = ?, errors = ?::jsonb, skipped_kinds = ?::jsonb,
       other_kinds = ?::jsonb, details = ?::jsonb
     WHERE id = ? RETURNING finished_at`,
    [
      r.status,
      r.listed,
      r.created,
      r.updated,
      r.unchanged,
      r.cleared,
      r.failed,
      r.commitSha,
      r.errorMessage,
      JSON.stringify(r.errors),
      JSON.stringify(r.skippedKinds),
      JSON.stringify(r.otherKinds),
      JSON.stringify(r.details),
      runId,
    ],
  );
  return new Date(row!.finished_at);
}

/**
 * Close as failed the fabric's one-shot runs still `in_progress` that started more than `olderThanSeconds` ago
 * (their process died mid-run); returns how many. Watch runs are left to the watch (closeOrphanWatchRuns).
 */
export async function closeAbandonedRuns(
  em: EntityManager,
  fabricId: number,
  currentRunId: number,
  olderThanSeconds: number,
): Promise<number> {
  const rows = await query<{ id: number }>(
    em,
    `UPDATE sync_operation SET status = 'failed', finished_at = now(),
       error_message = 'abandoned: the process running it stopped before it finished'
     WHERE fabric_id = ? AND id <> ? AND status = 'in_progress' AND type <> 'watch'
       AND started_at < now() - make_interval(secs => ?) RETURNING id`,
    [fabricId, currentRunId, olderThanSeconds],
  );
  return rows.length;
}

/** Close as failed the fabric's watch runs still `in_progress` (their replica died); returns how many. */
export async function closeOrphanWatchRuns(em: EntityManager, fabricId: number): Promise<number> {
  const rows = await query<{ id: number }>(
    em,
    `UPDATE sync_operation SET status = 'failed', finished_at = now(),
       error_message = 'the watch replica holding this fabric stopped without closing its run (killed, or its lease connection to the database was lost)'
     WHERE fabric_id = ? AND type = 'watch' AND status = 'in_progress' RETURNING id`,
    [fabricId],
  );
  return rows.length;
}

/** details.schemaProblem of the fabric's latest finished actual run, or null. */
export async function lastCrdReadProblem(em: EntityManager, fabricId: number): Promise<string | null> {
  const [row] = await query<{ problem: string | null }>(
    em,
    `SELECT details->>'schemaProblem' AS problem FROM sync_operation
      WHERE fabric_id = ? AND type = 'actual' AND status <> 'in_progress' ORDER BY started_at DESC, id DESC LIMIT 1`,
    [fabricId],
  );
  return row?.problem ?? null;
}

/**
 * Which of `commits` the fabric's own publish runs pushed (details.publish.pushed), recorded or not: a file changed
 * by one of them was changed by the ledger, not outside it. A publish that made no commit records the tip it read,
 * which is why only pushed ones count.
 */
export async function commitsPushedByPublish(
  em: EntityManager,
  fabricId: number,
  commits: readonly string[],
): Promise<Set<string>> {
  if (commits.length === 0) return new Set();
  const rows = await query<{ commit_sha: string }>(
    em,
    `SELECT DISTINCT commit_sha FROM sync_operation
      WHERE fabric_id = ? AND type = 'publish' AND details->'publish'->>'pushed' = 'true'
        AND commit_sha IN (${commits.map(() => '?').join(', ')})`,
    [fabricId, ...commits],
  );
  return new Set(rows.map((r) => r.commit_sha));
}
