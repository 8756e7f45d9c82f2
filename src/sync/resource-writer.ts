/**
 * Executes write plans: ONE statement per batch of rows that upserts the rows and records the state
 * transitions of those whose state changed, then the deletes. The caller owns the transaction.
 *
 * Transitions are inserted by a second data-modifying CTE fed by the upsert's RETURNING, so no round
 * trip fetches the new rows' ids. Two shapes:
 * - rows the plan creates (its transition is null → the row's own state, for the row's own reason):
 *   the transition is built from RETURNING alone — the bulk of a first sync costs no extra payload;
 * - every other row: the batch's transitions travel as a second JSON parameter, joined by key. (Not
 *   as extra members of the rows: adding keys to the row copies makes them dictionary objects, which
 *   JSON.stringify serializes several times slower.)
 * A row deleted in this run gets a `deleted` transition, and its history is detached (resource_id null,
 * the row's kind/namespace/name copied onto it), so it outlives the row: see recordDeletions.
 * Every transition carries the run id (sync_operation_id) when the writer has one.
 */
import type { EntityManager } from '@mikro-orm/core';
import { keyOf, type ResourceKey } from '../observations.js';
import type { WritePlan } from './actual-plan.js';
import { columnTypes, deleteByIds, encodeBatch, ident, queryBound, recordsetDefinition, timestampColumns, type EncodedBatch, type Row } from './sql.js';
import type { TransitionDraft, TransitionTrigger } from './transitions.js';

const RESOURCE_KEY = ['fabric_id', 'kind', 'namespace', 'name'] as const;
/**
 * Rows per statement (and per plan chunk): small enough for planning and serializing the next batch to
 * overlap the server's work on this one, large enough for the per-statement cost not to show. 1,000
 * measured best of 500–4,000 (docs/benchmarks.md).
 */
export const WRITE_BATCH_ROWS = 1000;

/** A state change is stamped only when the state really changes; otherwise the old stamp stays. */
const KEEP_UNLESS_STATE_CHANGED = (col: string) =>
  `CASE WHEN t.resource_state IS DISTINCT FROM excluded.resource_state THEN excluded.${col} ELSE t.${col} END`;
const UPDATE_EXPRESSIONS: Record<string, string> = {
  last_state_change: KEEP_UNLESS_STATE_CHANGED('last_state_change'),
  state_change_reason: KEEP_UNLESS_STATE_CHANGED('state_change_reason'),
  // Set once, when a source first reports the object (a draft-only row has none yet); never moved after.
  first_seen: 'coalesce(t.first_seen, excluded.first_seen)',
};

export interface AppliedPlan {
  written: number;
  deleted: number;
  transitions: number;
}

const TRANSITION_INSERT =
  'INSERT INTO state_transition (resource_id, fabric_id, from_state, to_state, "trigger", reason, context, "timestamp", sync_operation_id)';
const COUNTS = 'SELECT (SELECT count(*) FROM up)::int AS written, (SELECT count(*) FROM tr)::int AS transitions';

/**
 * `WITH up AS (INSERT … SELECT … ON CONFLICT … DO UPDATE … RETURNING …)` for one encoded batch: constant
 * columns from `k` (one record), the others from `x` (the rows). Parameters: [constants,] rows.
 */
function upsertCte(columns: readonly string[], types: Map<string, string>, batch: Shape, returning: string): string {
  const cols = columns.map(ident).join(', ');
  const key = RESOURCE_KEY.map(ident).join(', ');
  const update = columns
    .filter((c) => !(RESOURCE_KEY as readonly string[]).includes(c))
    .map((c) => `${ident(c)} = ${UPDATE_EXPRESSIONS[c] ?? `excluded.${ident(c)}`}`)
    .join(', ');
  const constant = new Set(batch.constant);
  const select = columns.map((c) => `${constant.has(c) ? 'k' : 'x'}.${ident(c)}`).join(', ');
  const rows = `jsonb_to_recordset(?::jsonb) AS x(${recordsetDefinition(batch.varying, types)})`;
  const from = batch.constant.length ? `jsonb_to_record(?::jsonb) AS k(${recordsetDefinition(batch.constant, types)}) CROSS JOIN ${rows}` : rows;
  return (
    `WITH up AS (INSERT INTO hedgehog_resource AS t (${cols}) SELECT ${select} FROM ${from} ` +
    `ON CONFLICT (${key}) DO UPDATE SET ${update} RETURNING ${returning})`
  );
}

/** Which columns of a batch are constant (sent once) and which vary (sent per row): what shapes its SQL. */
type Shape = Pick<EncodedBatch, 'constant' | 'varying'>;

/** New rows, each with the transition null → its state. Parameters: [constants,] rows, trigger, timestamp, run id. */
function createStatement(columns: readonly string[], types: Map<string, string>, batch: Shape): string {
  return (
    `${upsertCte(columns, types, batch, 't.id, t.fabric_id, t.resource_state, t.state_change_reason')}, ` +
    `tr AS (${TRANSITION_INSERT} SELECT up.id, up.fabric_id, NULL, up.resource_state, ?, up.state_change_reason, '{}'::jsonb, ?::timestamptz, ?::int ` +
    `FROM up RETURNING 1) ${COUNTS}`
  );
}

/** Any rows, with the transitions given. Parameters: [constants,] rows, trigger, timestamp, run id, transitions (keyed kind/namespace/name). */
function upsertStatement(columns: readonly string[], types: Map<string, string>, batch: Shape): string {
  return (
    `${upsertCte(columns, types, batch, 't.id, t.fabric_id, t.kind, t.namespace, t.name')}, ` +
    `tr AS (${TRANSITION_INSERT} SELECT up.id, up.fabric_id, d.from_state, d.to_state, ?, d.reason, coalesce(d.context, '{}'::jsonb), ?::timestamptz, ?::int ` +
    `FROM up JOIN jsonb_to_recordset(?::jsonb) AS d(kind text, namespace text, name text, from_state text, to_state text, reason text, context jsonb) ` +
    `USING (kind, namespace, name) RETURNING 1) ${COUNTS}`
  );
}

/** The statement text of a batch shape, built once per shape (a run sees a handful). */
class StatementCache {
  private readonly texts = new Map<string, string>();
  constructor(private readonly build: (batch: Shape) => string) {}
  get(batch: Shape): string {
    const key = batch.constant.join(',');
    let text = this.texts.get(key);
    if (text === undefined) this.texts.set(key, (text = this.build(batch)));
    return text;
  }
}

/** The leading parameters of a batch's statement: the constants (when any), then the rows. */
function batchParams(batch: EncodedBatch): string[] {
  return batch.constant.length ? [batch.constantsJson, batch.rowsJson] : [batch.rowsJson];
}

/** The transitions of the rows of one batch, as the upsert statement's last parameter. */
function transitionsJson(rows: readonly Row[], drafts: Map<string, TransitionDraft>): string {
  const out: Row[] = [];
  for (const row of rows) {
    const d = drafts.get(keyOf(row as unknown as ResourceKey));
    if (d) {
      out.push({ kind: row.kind, namespace: row.namespace, name: row.name, from_state: d.from, to_state: d.to, reason: d.reason, context: d.context ?? {} });
    }
  }
  return JSON.stringify(out);
}

/** True when the row's transition is exactly what createStatement derives from the row itself. */
function isPlainCreation(row: Row, d: TransitionDraft | undefined): boolean {
  return !!d && d.from === null && d.to === row.resource_state && d.reason === row.state_change_reason && !d.context;
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
  private readonly columns: readonly string[];
  private readonly timestamps: string[];
  private readonly createSql: StatementCache;
  private readonly upsertSql: StatementCache;
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
    const types = columnTypes(em, 'HedgehogResource');
    this.columns = columns;
    this.timestamps = timestampColumns(columns, types);
    this.createSql = new StatementCache((batch) => createStatement(columns, types, batch));
    this.upsertSql = new StatementCache((batch) => upsertStatement(columns, types, batch));
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

  /** Send every buffered row, then the deletes; the totals of everything this writer wrote. */
  async flush(): Promise<AppliedPlan> {
    await this.send(1);
    await this.settle();
    this.totals.transitions += await recordDeletions(this.em, this.deletes, this.deletionDrafts, this.trigger, this.at, this.runId);
    await deleteByIds(this.em, 'hedgehog_resource', this.deletes);
    this.totals.deleted += this.deletes.length;
    this.deletes.length = 0;
    this.deletionDrafts.length = 0;
    return { ...this.totals };
  }

  /** Send batches while a buffer holds at least `min` rows. */
  private async send(min: number): Promise<void> {
    while (this.created.length >= min) {
      const batch = this.encode(this.created.splice(0, this.batchRows));
      await this.issue(this.createSql.get(batch), [...batchParams(batch), this.trigger, this.at, this.runId]);
    }
    while (this.others.length >= min) {
      const rows = this.others.splice(0, this.batchRows);
      const transitions = transitionsJson(rows, this.drafts);
      for (const row of rows) this.drafts.delete(keyOf(row as unknown as ResourceKey));
      const batch = this.encode(rows);
      await this.issue(this.upsertSql.get(batch), [...batchParams(batch), this.trigger, this.at, this.runId, transitions]);
    }
  }

  /** The name always varies within a batch of several rows; keeping it in the rows keeps the recordset non-empty. */
  private encode(rows: readonly Row[]): EncodedBatch {
    return encodeBatch(rows, this.columns, this.timestamps, ['name']);
  }

  /** Start a statement once the previous one is done; do not wait for it. */
  private async issue(sql: string, params: unknown[]): Promise<void> {
    await this.settle();
    const running = queryBound<{ written: number; transitions: number }>(this.em, sql, params).then(([r]) => {
      this.totals.written += r!.written;
      this.totals.transitions += r!.transitions;
    });
    running.catch(() => undefined); // a failure surfaces where it is awaited (settle), never as unhandled
    this.running = running;
  }
}

/**
 * Before rows are deleted: a `deleted` transition for each (from its current state, for the plan's reason),
 * and their identity copied onto all their history, which the foreign key then detaches (ON DELETE SET NULL)
 * instead of deleting. Returns the number of transitions recorded. A separate statement from the DELETE: the
 * key's SET NULL must not touch rows this statement updates.
 */
async function recordDeletions(
  em: EntityManager,
  ids: readonly number[],
  drafts: readonly TransitionDraft[],
  trigger: TransitionTrigger,
  at: string,
  runId: number | null,
): Promise<number> {
  let recorded = 0;
  const reasons = JSON.stringify(drafts.map((d) => { const [kind, namespace, name] = d.key.split('/'); return { kind, namespace, name, reason: d.reason }; }));
  for (let i = 0; i < ids.length; i += 10000) {
    const [r] = await queryBound<{ transitions: number }>(em, DELETION_HISTORY, [`{${ids.slice(i, i + 10000).join(',')}}`, trigger, at, runId, reasons]);
    recorded += r!.transitions;
  }
  return recorded;
}

/** Parameters: ids (PostgreSQL array literal), trigger, timestamp, run id, reasons (keyed kind/namespace/name). */
const DELETION_HISTORY =
  `WITH r AS (SELECT id, fabric_id, kind, namespace, name, resource_state FROM hedgehog_resource WHERE id = ANY(?::int[])), ` +
  `hist AS (UPDATE state_transition st SET kind = r.kind, namespace = r.namespace, name = r.name FROM r WHERE st.resource_id = r.id RETURNING 1), ` +
  `tr AS (INSERT INTO state_transition (resource_id, fabric_id, kind, namespace, name, from_state, to_state, "trigger", reason, context, "timestamp", sync_operation_id) ` +
  `SELECT NULL, r.fabric_id, r.kind, r.namespace, r.name, r.resource_state, 'deleted', ?, coalesce(d.reason, 'deleted'), '{}'::jsonb, ?::timestamptz, ?::int ` +
  `FROM r LEFT JOIN jsonb_to_recordset(?::jsonb) AS d(kind text, namespace text, name text, reason text) USING (kind, namespace, name) RETURNING 1) ` +
  `SELECT (SELECT count(*) FROM tr)::int AS transitions, (SELECT count(*) FROM hist)::int AS detached`;

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
