/**
 * `sync_operation` rows: one per run, written OUTSIDE the run's data transaction, so the record of a
 * failed run survives the rollback of its data.
 */
import type { SyncOperationStatus, SyncOperationType } from '../entities/enums.js';
import type { EntityManager } from '@mikro-orm/core';
import type { ObjectError } from '../observations.js';
import { closeAbandonedRuns as closeAbandonedRunRows, finishRun as finishRunRow, insertRun } from '../store/runs.js';
import type { RunDetails } from './run-details.js';

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

export const emptyCounts = (): RunCounts => ({
  listed: 0,
  created: 0,
  updated: 0,
  unchanged: 0,
  cleared: 0,
  failed: 0,
});

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

export function startRun(em: EntityManager, fabricId: number, type: RunType): Promise<{ id: number; startedAt: Date }> {
  return insertRun(em, fabricId, type);
}

export function finishRun(
  em: EntityManager,
  runId: number,
  r: Omit<SyncRunReport, 'id' | 'fabric' | 'type' | 'startedAt' | 'finishedAt'>,
): Promise<Date> {
  return finishRunRow(em, runId, {
    status: r.status,
    ...r.counts,
    commitSha: r.commit,
    errorMessage: r.errorMessage,
    errors: r.errors,
    skippedKinds: r.skippedKinds,
    otherKinds: r.otherKinds,
    details: r.details,
  });
}

/**
 * Runs of this fabric still `in_progress` that started longer ago than a lock wait can last belong to a
 * process that died mid-run (the caller holds the fabric lock, so no live run is inside its transaction).
 * Close them as failed so the history does not show runs that never end. Watch runs are left to the watch.
 */
export function closeAbandonedRuns(
  em: EntityManager,
  fabricId: number,
  currentRunId: number,
  lockTimeoutMs: number,
): Promise<number> {
  return closeAbandonedRunRows(em, fabricId, currentRunId, Math.ceil(lockTimeoutMs / 1000) + 5);
}
