/**
 * Executes write plans: batches their rows across plans and sends each batch as ONE statement (see
 * src/store/resource-batches.ts), then the deletes. The caller owns the transaction.
 * A row deleted in this run gets a `deleted` transition, and its history is detached (resource_id null,
 * the row's kind/namespace/name copied onto it), so it outlives the row: see recordResourceDeletions.
 * Every transition carries the run id (sync_operation_id) when the writer has one.
 */
import type { EntityManager } from '@mikro-orm/core';
import { keyOf, type ResourceKey } from '../observations.js';
import {
  deleteResources,
  isPlainCreation,
  recordResourceDeletions,
  ResourceBatchStatements,
  transitionsJson,
} from '../store/resource-batches.js';
import { encodeBatch, type EncodedBatch, type Row } from '../store/sql.js';
import type { WritePlan } from './write-plan.js';
import type { TransitionDraft, TransitionTrigger } from './transitions.js';

/**
 * Rows per statement (and per plan chunk): small enough for planning and serializing the next batch to
 * overlap the server's work on this one, large enough for the per-statement cost not to show. 1,000
 * measured best of 500–4,000 (docs/benchmarks.md).
 */
export const WRITE_BATCH_ROWS = 1000;

export interface AppliedPlan {
  written: number;
  deleted: number;
  transitions: number;
}

/**
 * Writes plans in batches of `batchRows` rows, across plans: the rows of a small kind wait in the buffer
 * for the next kind's, so a run sends a few full statements rather than one per kind. One statement is
 * in flight at a time on the transaction's connection; the next batch is serialized — and, when the
 * caller feeds plan chunks, planned — while it runs. Deletes go last, in `flush`.
 *
 * `add` returns once its full batches are sent (the last one may still be running); `settle` waits
 * for it, so a caller can keep the database idle while it does something else (reading the cluster);
 * `flush` sends everything left and returns the totals.
 */
export class ResourceWriter {
  private readonly created: Row[] = [];
  private readonly others: Row[] = [];
  /** Transitions of the rows in `others`, by key. */
  private readonly drafts = new Map<string, TransitionDraft>();
  private readonly deletes: number[] = [];
  /** Transitions of the rows in `deletes` (their reasons), by key. */
  private readonly deletionDrafts: TransitionDraft[] = [];
  private readonly statements: ResourceBatchStatements;
  private readonly at: string;
  private running: Promise<void> | undefined;
  private readonly totals: AppliedPlan = { written: 0, deleted: 0, transitions: 0 };

  constructor(
    private readonly em: EntityManager,
    columns: readonly string[],
    private readonly trigger: TransitionTrigger,
    now: Date,
    private readonly batchRows: number = WRITE_BATCH_ROWS,
    /** The run (sync_operation.id) the transitions belong to; null = not a one-shot run (a watch write). */
    private readonly runId: number | null = null,
  ) {
    if (!(batchRows >= 1)) throw new RangeError(`batchRows must be at least 1, got ${batchRows}`);
    this.statements = new ResourceBatchStatements(em, columns);
    this.at = now.toISOString();
  }

  /** Buffer a plan (or one chunk of a plan) and send every full batch. */
  async add(plan: WritePlan): Promise<void> {
    const drafts = plan.transitions.length ? new Map(plan.transitions.map((d) => [d.key, d])) : undefined;
    for (const row of plan.upserts) {
      const d = drafts?.get(keyOf(row as unknown as ResourceKey));
      if (isPlainCreation(row, d)) {
        this.created.push(row);
      } else {
        this.others.push(row);
        if (d) this.drafts.set(d.key, d);
      }
    }
    for (const id of plan.deletes) this.deletes.push(id);
    for (const d of plan.transitions) if (d.to === 'deleted') this.deletionDrafts.push(d);
    await this.send(this.batchRows);
  }

  /** Wait for the statement in flight, if any; buffered rows stay buffered. */
  async settle(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    await running;
  }

  /**
   * Send every buffered row and wait for it, the deletes staying buffered: what a caller needs before a savepoint
   * that must cover only rows added after it. Returns the totals so far, for discardBuffered.
   */
  async sendBuffered(): Promise<AppliedPlan> {
    await this.send(1);
    await this.settle();
    return { ...this.totals };
  }

  /**
   * Wait for the statement in flight, then drop the buffered rows (not the deletes): the caller rolls back to a
   * savepoint it took after sendBuffered, so every row added since — sent or not — is undone, and the totals go
   * back to what sendBuffered returned.
   */
  async discardBuffered(totalsBefore: AppliedPlan): Promise<void> {
    await this.settle();
    this.created.length = 0;
    this.others.length = 0;
    this.drafts.clear();
    this.totals.written = totalsBefore.written;
    this.totals.transitions = totalsBefore.transitions;
  }

  /** Send every buffered row, then the deletes; the totals of everything this writer wrote. */
  async flush(): Promise<AppliedPlan> {
    await this.send(1);
    await this.settle();
    this.totals.transitions += await recordResourceDeletions(
      this.em,
      this.deletes,
      this.deletionDrafts,
      this.trigger,
      this.at,
      this.runId,
    );
    await deleteResources(this.em, this.deletes);
    this.totals.deleted += this.deletes.length;
    this.deletes.length = 0;
    this.deletionDrafts.length = 0;
    return { ...this.totals };
  }

  /** Send batches while a buffer holds at least `min` rows. */
  private async send(min: number): Promise<void> {
    while (this.created.length >= min) {
      const batch = this.encode(this.created.splice(0, this.batchRows));
      await this.issue(() => this.statements.insertCreatedBatch(this.em, batch, this.trigger, this.at, this.runId));
    }
    while (this.others.length >= min) {
      const rows = this.others.splice(0, this.batchRows);
      const transitions = transitionsJson(rows, this.drafts);
      for (const row of rows) this.drafts.delete(keyOf(row as unknown as ResourceKey));
      const batch = this.encode(rows);
      await this.issue(() =>
        this.statements.upsertBatch(this.em, batch, transitions, this.trigger, this.at, this.runId),
      );
    }
  }

  /** The name always varies within a batch of several rows; keeping it in the rows keeps the recordset non-empty. */
  private encode(rows: readonly Row[]): EncodedBatch {
    return encodeBatch(rows, this.statements.columns, this.statements.timestamps, ['name']);
  }

  /** Start a statement once the previous one is done; do not wait for it. */
  private async issue(statement: () => Promise<{ written: number; transitions: number }>): Promise<void> {
    await this.settle();
    const running = statement().then((r) => {
      this.totals.written += r.written;
      this.totals.transitions += r.transitions;
    });
    running.catch(() => undefined); // a failure surfaces where it is awaited (settle), never as unhandled
    this.running = running;
  }
}

/** Write one whole plan in the caller's transaction. */
export async function applyWritePlan(
  em: EntityManager,
  plan: WritePlan,
  columns: readonly string[],
  trigger: TransitionTrigger,
  now: Date,
  batchRows?: number,
  runId: number | null = null,
): Promise<AppliedPlan> {
  const writer = new ResourceWriter(em, columns, trigger, now, batchRows, runId);
  await writer.add(plan);
  return writer.flush();
}
