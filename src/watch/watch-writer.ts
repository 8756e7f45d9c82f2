/**
 * The watch's writes: one transaction per relist (a complete list of one kind: replace and sweep) or per watch batch
 * (upserts and explicit deletes), through the sync service's ActualKindWriter — the same writer, planner and drift
 * evaluation as a one-shot `hh-sync sync --actual`.
 *
 * Each transaction takes the fabric's per-run advisory lock (so watch writes, one-shot syncs and desired syncs never
 * interleave) and then checks the replica's watch lease (fencing: a replica that lost its lease without noticing yet
 * writes nothing).
 */
import type { EntityManager } from '@mikro-orm/core';
import type { HedgehogFabric } from '../entities/index.js';
import type { KindInfo } from '../kube/catalog.js';
import type { KindListResult } from '../kube/cluster-reader.js';
import type { WatchEventBatch } from '../kube/cluster-informer.js';
import type { SchemaDefaults } from '../drift/types.js';
import { markWatchWritten, refreshFabricSummary, refreshSyncStatus } from '../store/fabrics.js';
import { driftContextFor, type ActualKindWriter } from '../sync/actual-kind-writer.js';
import { lockFabricForTransaction } from '../sync/fabric-lock.js';
import type { RunCounts } from '../sync/run-recorder.js';
import type { ResourceChange } from '../sync/write-plan.js';

/** The fencing check failed: another replica may hold the fabric now. */
export class LeaseLostError extends Error {
  constructor(fabric: string) {
    super(`the watch lease of fabric "${fabric}" is no longer held by this replica; stopped writing`);
    this.name = 'LeaseLostError';
  }
}

export interface WatchWriteOptions {
  /** Inside the transaction, after the fabric lock: false = stop, this replica no longer holds the fabric. */
  stillHolds: (em: EntityManager) => Promise<boolean>;
  schemaDefaults: Map<string, SchemaDefaults | null>;
  /** Recompute the fabric's cached summaries (counts per kind and drift status) in this transaction. */
  refreshSummary: boolean;
  /** Every kind has been listed since the watch (re)started: the ledger's actual side is current as of now. */
  current: boolean;
  lockTimeoutMs: number;
  /** The watch run (sync_operation) this write belongs to: every transition it records names it. */
  runId?: number | null;
}

/** What one watch write did: its counts, and the objects it changed (told once its transaction has committed). */
export interface WatchWriteResult {
  counts: RunCounts;
  changes: ResourceChange[];
}

export type WatchWrite = { source: 'relist'; list: KindListResult } | { source: 'batch'; batch: WatchEventBatch };

export function kindOf(w: WatchWrite): KindInfo {
  return w.source === 'relist' ? w.list.kind : w.batch.kind;
}

export async function applyWatchWrite(
  writer: ActualKindWriter,
  em: EntityManager,
  fabric: HedgehogFabric,
  write: WatchWrite,
  opts: WatchWriteOptions,
): Promise<WatchWriteResult> {
  return em.fork().transactional(async (tem) => {
    await lockFabricForTransaction(tem, fabric.id, fabric.name, opts.lockTimeoutMs);
    if (!(await opts.stillHolds(tem))) throw new LeaseLostError(fabric.name);
    const now = new Date();
    // The rows written were observed just now: a Git change older than this is settled, not pending.
    const ctx = driftContextFor(fabric, opts.schemaDefaults, now, now);
    const runId = opts.runId ?? null;
    const r =
      write.source === 'relist'
        ? await writer.write(
            tem,
            fabric,
            write.list.kind,
            write.list.observations,
            { sweep: true, namespaces: write.list.namespaces, refused: write.list.errors },
            ctx,
            'watch',
            undefined,
            runId,
          )
        : await writer.write(
            tem,
            fabric,
            write.batch.kind,
            write.batch.upserts,
            { sweep: false, deletes: write.batch.deletes, refused: write.batch.errors },
            ctx,
            'watch',
            undefined,
            runId,
          );
    const errors = write.source === 'relist' ? write.list.errors.length : write.batch.errors.length;
    if (opts.refreshSummary) await refreshFabricSummary(tem, fabric.id);
    await markWatchWritten(tem, fabric.id, now, { current: opts.current, statusFromSummary: opts.refreshSummary });
    return { counts: { ...r.counts, failed: r.counts.failed + errors }, changes: r.changes };
  });
}

/**
 * Recompute the fabric's cached summaries after batches that skipped it (they refresh at most every few seconds:
 * the summary is a full aggregate over the fabric's rows, too heavy for every 250 ms batch of a big fabric).
 */
export async function refreshWatchSummary(
  em: EntityManager,
  fabric: HedgehogFabric,
  opts: Pick<WatchWriteOptions, 'stillHolds' | 'lockTimeoutMs'>,
): Promise<void> {
  await em.fork().transactional(async (tem) => {
    await lockFabricForTransaction(tem, fabric.id, fabric.name, opts.lockTimeoutMs);
    if (!(await opts.stillHolds(tem))) throw new LeaseLostError(fabric.name);
    await refreshFabricSummary(tem, fabric.id);
    await refreshSyncStatus(tem, fabric.id);
  });
}
