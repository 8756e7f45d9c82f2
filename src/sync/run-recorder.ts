/**
 * `sync_operation` rows: one per run, written OUTSIDE the run's data transaction, so the record of a
 * failed run survives the rollback of its data.
 */
import type { SyncOperationStatus, SyncOperationType } from '../entities/enums.js';
import type { EntityManager } from '@mikro-orm/core';
import type { ObjectError } from '../observations.js';
import type { RunDetails } from './run-details.js';
import { query } from './sql.js';

/** One vocabulary with the sync_operation columns' check constraints (src/entities/enums.ts). */
export type RunType = SyncOperationType;
export type RunStatus = SyncOperationStatus;

export interface RunCounts {
  listed: number;
  created: number;
  updated: number;
  unchanged: number;
  cleared: number;
  failed: number;
}

export const emptyCounts = (): RunCounts => ({ listed: 0, created: 0, updated: 0, unchanged: 0, cleared: 0, failed: 0 });

export function addCounts(a: RunCounts, b: RunCounts): RunCounts {
  return {
    listed: a.listed + b.listed,
    created: a.created + b.created,
    updated: a.updated + b.updated,
    unchanged: a.unchanged + b.unchanged,
    cleared: a.cleared + b.cleared,
    failed: a.failed + b.failed,
  };
}

/** What a run reports (and what `hh-sync sync --json` prints). */
export interface SyncRunReport {
  id: number;
  fabric: string;
  type: RunType;
  status: RunStatus;
  startedAt: string;
  finishedAt: string | null;
  counts: RunCounts;
  errors: ObjectError[];
  commit: string | null;
  skippedKinds: { kind: string; reason: string }[];
  otherKinds: Record<string, number>;
  errorMessage: string | null;
  details: RunDetails;
}

export async function startRun(em: EntityManager, fabricId: number, type: RunType): Promise<{ id: number; startedAt: Date }> {
  const [row] = await query<{ id: number; started_at: Date }>(
    em,
    `INSERT INTO sync_operation (fabric_id, type, status, started_at) VALUES (?, ?, 'in_progress', now()) RETURNING id, started_at`,
    [fabricId, type],
  );
  return { id: row.id, startedAt: new Date(row.started_at) };
}

export async function finishRun(
  em: EntityManager,
  runId: number,
  r: Omit<SyncRunReport, 'id' | 'fabric' | 'type' | 'startedAt' | 'finishedAt'>,
): Promise<Date> {
  const [row] = await query<{ finished_at: Date }>(
    em,
    `UPDATE sync_operation SET status = ?, finished_at = now(), listed = ?, created = ?, updated = ?, unchanged = ?,
       cleared = ?, failed = ?, commit_sha = ?, error_message = ?, errors = ?::jsonb, skipped_kinds = ?::jsonb,
       other_kinds = ?::jsonb, details = ?::jsonb
     WHERE id = ? RETURNING finished_at`,
    [
      r.status,
      r.counts.listed,
      r.counts.created,
      r.counts.updated,
      r.counts.unchanged,
      r.counts.cleared,
      r.counts.failed,
      r.commit,
      r.errorMessage,
      JSON.stringify(r.errors),
      JSON.stringify(r.skippedKinds),
      JSON.stringify(r.otherKinds),
      JSON.stringify(r.details),
      runId,
    ],
  );
  return new Date(row.finished_at);
}

/**
 * Runs of this fabric still `in_progress` that started longer ago than a lock wait can last belong to a
 * process that died mid-run (the caller holds the fabric lock, so no live run is inside its transaction).
 * Close them as failed so the history does not show runs that never end. Watch runs are left to the watch.
 */
export async function closeAbandonedRuns(em: EntityManager, fabricId: number, currentRunId: number, lockTimeoutMs: number): Promise<number> {
  const rows = await query(
    em,
    `UPDATE sync_operation SET status = 'failed', finished_at = now(),
       error_message = 'abandoned: the process running it stopped before it finished'
     WHERE fabric_id = ? AND id <> ? AND status = 'in_progress' AND type <> 'watch'
       AND started_at < now() - make_interval(secs => ?) RETURNING id`,
    [fabricId, currentRunId, Math.ceil(lockTimeoutMs / 1000) + 5],
  );
  return rows.length;
}
