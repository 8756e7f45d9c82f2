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
import {
  ACTUAL_COLUMNS,
  addOutcome,
  classifyListed,
  diffAgainstIndex,
  planActualWriteChunks,
  ListedSoFar,
  unseenInIndex,
  type IndexDiff,
} from './actual-plan.js';
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
      /** index entries of objects the list holds unchanged, matched by the reader (KindRead.unchanged) */
      unchanged?: readonly ActualIndexEntry[];
    }
  | { sweep: false; deletes: readonly { namespace: string; name: string }[]; refused?: readonly ObjectError[] };

/** What writing one kind did. */
export interface KindWriteResult {
  counts: RunCounts;
  /**
   * What changed, object by object: written in the caller's transaction, so the caller tells them (the service's
   * `resource` events) only once that transaction has committed.
   */
  changes: WritePlan['changes'];
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
    if (mode.sweep) {
      const session = await this.begin(em, fabric, kind, mode.index, ctx, trigger, writer, runId);
      session.addUnchanged(mode.unchanged ?? []);
      await session.addPage(observations);
      return session.finish(mode.namespaces, mode.refused ?? []);
    }
    // Refusals are rare: a watch batch without any builds nothing for them.
    const refused = mode.refused?.length
      ? refusedByKey(kind.kind, mode.refused, [...observations, ...mode.deletes])
      : new Map<string, RefusedObject>();
    const deleted = mode.deletes.map((d) => ({ kind: kind.kind, ...d }));
    const index = await loadActualIndexForKeys(em, fabric.id, kind.kind, [...observations, ...deleted]);
    const diff = diffAgainstIndex(observations, index, deleted.map(keyOf));
    const own = !writer;
    writer ??= new ResourceWriter(em, ACTUAL_COLUMNS, trigger, ctx.now, this.writeBatchRows, runId);
    const plan = emptyPlan(); // the outcome
    await writePlanned(em, fabric.id, diff, ctx, writer, this.writeBatchRows, plan);
    if (own) await writer.flush();
    // The marks of refused rows go after this kind's statements (rare: only then is the statement in flight awaited).
    else if (refused.size) await writer.settle();
    await markRefusedObjects(em, fabric.id, kind.kind, refused);
    return {
      changes: plan.changes,
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

  /**
   * Start writing one kind's complete list, which may come in pages (KindWriteSession): against the kind's whole
   * index, so rows the list lacks are swept when it ends. With a run-wide `writer` the caller flushes it.
   */
  async begin(
    em: EntityManager,
    fabric: HedgehogFabric,
    kind: KindInfo,
    /** the kind's index, when the caller loaded it already (loadActualIndexes); it is consumed */
    index: Map<string, ActualIndexEntry> | undefined,
    ctx: DriftContext,
    trigger: TransitionTrigger,
    writer?: ResourceWriter,
    runId: number | null = null,
  ): Promise<KindWriteSession> {
    index ??= await loadActualIndex(em, fabric.id, kind.kind);
    const own = !writer;
    writer ??= new ResourceWriter(em, ACTUAL_COLUMNS, trigger, ctx.now, this.writeBatchRows, runId);
    return new KindWriteSession(em, fabric, kind, index, ctx, writer, own, this.writeBatchRows);
  }
}

/**
 * One kind's complete list written as it comes: `addPage` for each part of it (each is planned and handed to the
 * writer at once, so only a page is held), then `finish` once the list is complete, which sweeps what it lacked,
 * marks the refused rows and says what changed. Nothing is said before finish: a caller that abandons the session
 * (its list failed) rolls its rows back itself, and the session leaves no count or change behind.
 */
export class KindWriteSession {
  private readonly seen = new ListedSoFar();
  private readonly outcome = emptyPlan();
  private listed = 0;
  private unchanged = 0;

  constructor(
    private readonly em: EntityManager,
    private readonly fabric: HedgehogFabric,
    private readonly kind: KindInfo,
    /** The kind's index; finish takes out the keys outside the namespaces listed and those refused. */
    private readonly index: Map<string, ActualIndexEntry>,
    private readonly ctx: DriftContext,
    private readonly writer: ResourceWriter,
    private readonly ownWriter: boolean,
    private readonly rowsPerChunk: number,
  ) {}

  /** Plan and write one part of the list (any size; an object already given is the caller's error, never sent twice). */
  async addPage(observations: readonly ListedObject[]): Promise<void> {
    this.listed += observations.length;
    const diff = classifyListed(observations, this.index, this.seen, true);
    this.unchanged += diff.unchanged;
    await writePlanned(
      this.em,
      this.fabric.id,
      { ...diff, stale: [] },
      this.ctx,
      this.writer,
      this.rowsPerChunk,
      this.outcome,
    );
  }

  /**
   * Objects of the list whose uid and resourceVersion the index holds already, matched by the caller (a metadata-only
   * list, src/sync/kind-read.ts), with no pending drift to settle: nothing to write, only to keep from the sweep.
   */
  addUnchanged(entries: readonly ActualIndexEntry[]): void {
    this.listed += entries.length;
    this.unchanged += entries.length;
    for (const e of entries) this.seen.entries.add(e);
  }

  /**
   * The list is complete: sweep what it lacked within the `namespaces` it covered (null: all), mark the rows of
   * `refusedErrors`, and say what the kind's write did.
   */
  async finish(namespaces: readonly string[] | null, refusedErrors: readonly ObjectError[]): Promise<KindWriteResult> {
    const refused = refusedByKey(this.kind.kind, refusedErrors, []);
    for (const key of refused.keys()) {
      if (this.seen.has(key, this.index))
        refused.delete(key); // a valid version of it was listed too
      else this.index.delete(key); // listed but refused: present in the cluster, only unreadable; its row stays
    }
    if (namespaces) {
      // A list of some namespaces says nothing about objects in the others: never sweep those.
      const covered = new Set(namespaces);
      for (const key of this.index.keys()) {
        // Keys are kind/namespace/name; a key without a namespace part is never covered.
        const namespace = key.split('/')[1];
        if (namespace === undefined || !covered.has(namespace)) this.index.delete(key);
      }
    }
    const unseen = unseenInIndex(this.index, this.seen, true);
    await writePlanned(this.em, this.fabric.id, unseen, this.ctx, this.writer, this.rowsPerChunk, this.outcome);
    if (this.ownWriter) await this.writer.flush();
    // The marks of refused rows go after this kind's statements (rare: only then is the statement in flight awaited).
    else if (refused.size) await this.writer.settle();
    await markRefusedObjects(this.em, this.fabric.id, this.kind.kind, refused);
    return {
      changes: this.outcome.changes,
      counts: {
        listed: this.listed,
        created: this.outcome.created,
        updated: this.outcome.updated,
        unchanged: this.unchanged,
        cleared: this.outcome.cleared,
        failed: 0,
      },
      recreated: this.outcome.recreated,
      reevaluated: this.outcome.reevaluated,
    };
  }
}

/**
 * Phase 2 of `diff` into `writer`: the stored details of the rows involved, then the plan in chunks, each handed to
 * the writer as it is built (the database works on one while the next is planned); the outcome is added to `outcome`.
 */
async function writePlanned(
  em: EntityManager,
  fabricId: number,
  diff: IndexDiff,
  ctx: DriftContext,
  writer: ResourceWriter,
  rowsPerChunk: number,
  outcome: WritePlan,
): Promise<void> {
  if (!diff.changed.length && !diff.stale.length && !diff.reevaluate.length) return;
  const stored = diff.idsToLoad.length
    ? await loadStoredResourcesByIds(em, diff.idsToLoad)
    : new Map<string, StoredResource>();
  for (const chunk of planActualWriteChunks(fabricId, diff, stored, ctx, rowsPerChunk)) {
    await writer.add(chunk);
    addOutcome(outcome, chunk);
  }
}
