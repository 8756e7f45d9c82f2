/**
 * Writing one kind's actual observations into the ledger: index diff → plan (in chunks) → set-based writer →
 * refused rows marked. One internal seam shared by the one-shot actual sync (FabricSyncService) and the watch
 * (src/watch/watch-writer.ts), so both write through the same planner, drift evaluation and writer.
 */
import type { EntityManager } from '@mikro-orm/core';
import { listOrEmpty } from '../common/values.js';
import type { HedgehogFabric } from '../entities/index.js';
import type { KindInfo } from '../kube/catalog.js';
import { keyOf, type ListedObject, type ObjectError } from '../observations.js';
import type { SchemaDefaults } from '../drift/types.js';
import {
  loadActualIndex,
  loadActualIndexForKeys,
  loadStoredResourcesByIds,
  type ActualIndexEntry,
  type StoredResource,
} from '../store/stored-resources.js';
import { ACTUAL_COLUMNS, addOutcome, diffAgainstIndex, planActualWriteChunks } from './actual-plan.js';
import type { DriftContext } from './drift-evaluation.js';
import { markRefusedObjects, refusedByKey, type RefusedObject } from './refused-objects.js';
import { ResourceWriter, WRITE_BATCH_ROWS } from './resource-writer.js';
import type { RunCounts } from './run-recorder.js';
import type { TransitionTrigger } from './transitions.js';
import { emptyPlan, type WritePlan } from './write-plan.js';

/**
 * With `sweep`, the observations are the kind's complete list and rows the list no longer has get their actual
 * state cleared; without it (watch batches) only `deletes` are cleared.
 */
export type ActualWriteMode =
  | {
      sweep: true;
      /** the namespaces the list covered; null = all */
      namespaces: readonly string[] | null;
      /** the kind's index, when the caller loaded it already (loadActualIndexes); it is consumed */
      index?: Map<string, ActualIndexEntry>;
      /** objects the list holds but the reader refused: never swept, their rows marked */
      refused?: readonly ObjectError[];
    }
  | { sweep: false; deletes: readonly { namespace: string; name: string }[]; refused?: readonly ObjectError[] };

/** What writing one kind did. */
export interface KindWriteResult {
  counts: RunCounts;
  recreated: WritePlan['recreated'];
  reevaluated: number;
}

/** How drift is evaluated for a fabric's rows written at `now`. */
export function driftContextFor(
  fabric: HedgehogFabric,
  schemaDefaults: Map<string, SchemaDefaults | null>,
  lastActualRead: Date | null,
  now: Date,
): DriftContext {
  return {
    ignore: listOrEmpty(fabric.ignoreRules),
    schemaDefaults: (kind) => schemaDefaults.get(kind) ?? null,
    lastActualRead,
    now,
  };
}

export interface ActualKindWriterOptions {
  /** Rows per write statement (and per plan chunk). */
  writeBatchRows?: number;
  /** Told what each write changed (the service's `resource` events). */
  onChanges?: (fabric: HedgehogFabric, plan: WritePlan) => void;
}

export class ActualKindWriter {
  readonly writeBatchRows: number;

  constructor(private readonly options: ActualKindWriterOptions = {}) {
    this.writeBatchRows = options.writeBatchRows ?? WRITE_BATCH_ROWS;
  }

  /** A writer that batches rows across kinds for one run; the caller flushes it. */
  runWriter(em: EntityManager, trigger: TransitionTrigger, now: Date, runId: number | null): ResourceWriter {
    return new ResourceWriter(em, ACTUAL_COLUMNS, trigger, now, this.writeBatchRows, runId);
  }

  /**
   * Write one kind's observations in the caller's transaction. With a run-wide `writer` (runWriter) the rows are
   * batched across kinds and the caller flushes; the last statement may still be running when this returns, so the
   * caller reads the next kind from the cluster while the database writes this one (a failed statement surfaces at the
   * writer's next `add` or `flush`, inside the same transaction). Without a writer the kind is written and flushed
   * alone, its transitions naming `runId` (the watch passes its open run's id).
   */
  async write(
    em: EntityManager,
    fabric: HedgehogFabric,
    kind: KindInfo,
    observations: readonly ListedObject[],
    mode: ActualWriteMode,
    ctx: DriftContext,
    trigger: TransitionTrigger,
    writer?: ResourceWriter,
    runId: number | null = null,
  ): Promise<KindWriteResult> {
    // Refusals are rare: a watch batch without any builds nothing for them.
    const refused = mode.refused?.length
      ? refusedByKey(kind.kind, mode.refused, mode.sweep ? observations : [...observations, ...mode.deletes])
      : new Map<string, RefusedObject>();
    const diff = await this.diff(em, fabric, kind, observations, mode, refused);
    const stored = diff.idsToLoad.length
      ? await loadStoredResourcesByIds(em, diff.idsToLoad)
      : new Map<string, StoredResource>();
    // Planned in chunks, each handed to the writer as it is built: the database works on one while the next is planned.
    const own = !writer;
    writer ??= new ResourceWriter(em, ACTUAL_COLUMNS, trigger, ctx.now, this.writeBatchRows, runId);
    const plan = emptyPlan(); // the outcome
    for (const chunk of planActualWriteChunks(fabric.id, diff, stored, ctx, this.writeBatchRows)) {
      await writer.add(chunk);
      addOutcome(plan, chunk);
    }
    if (own) await writer.flush();
    // The marks of refused rows go after this kind's statements (rare: only then is the statement in flight awaited).
    else if (refused.size) await writer.settle();
    await markRefusedObjects(em, fabric.id, kind.kind, refused);
    this.options.onChanges?.(fabric, plan);
    return {
      counts: {
        listed: observations.length,
        created: plan.created,
        updated: plan.updated,
        unchanged: diff.unchanged,
        cleared: plan.cleared,
        failed: 0,
      },
      recreated: plan.recreated,
      reevaluated: plan.reevaluated,
    };
  }

  /** The observations against the ledger's index: the whole kind's (sweep) or just the keys involved (a batch). */
  private async diff(
    em: EntityManager,
    fabric: HedgehogFabric,
    kind: KindInfo,
    observations: readonly ListedObject[],
    mode: ActualWriteMode,
    refused: Map<string, RefusedObject>,
  ) {
    if (mode.sweep) {
      const index = mode.index ?? (await loadActualIndex(em, fabric.id, kind.kind));
      if (mode.namespaces) {
        // A list of some namespaces says nothing about objects in the others: never sweep those.
        const covered = new Set(mode.namespaces);
        for (const key of index.keys()) {
          // Keys are kind/namespace/name; a key without a namespace part is never covered.
          const namespace = key.split('/')[1];
          if (namespace === undefined || !covered.has(namespace)) index.delete(key);
        }
      }
      // Listed but refused: present in the cluster, only unreadable. Their rows stay (and are marked).
      for (const key of refused.keys()) index.delete(key);
      return diffAgainstIndex(observations, index);
    }
    const deleted = mode.deletes.map((d) => ({ kind: kind.kind, ...d }));
    const index = await loadActualIndexForKeys(em, fabric.id, kind.kind, [...observations, ...deleted]);
    return diffAgainstIndex(observations, index, deleted.map(keyOf));
  }
}
