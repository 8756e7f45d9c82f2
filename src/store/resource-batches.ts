/**
 * The writer's set-based statements on `hedgehog_resource`: ONE statement per batch of rows upserts the rows
 * and records the state transitions of those whose state changed; then the deletions' history and the deletes.
 * The caller (src/sync/resource-writer.ts) owns batching and the transaction.
 *
 * Transitions are inserted by a second data-modifying CTE fed by the upsert's RETURNING, so no round trip
 * fetches the new rows' ids. Two shapes:
 * - rows the plan creates (its transition is null → the row's own state, for the row's own reason): the
 *   transition is built from RETURNING alone — the bulk of a first sync costs no extra payload;
 * - every other row: the batch's transitions travel as a second JSON parameter, joined by key. (Not as extra
 *   members of the rows: adding keys to the row copies makes them dictionary objects, which JSON.stringify
 *   serializes several times slower.)
 * Column types come from the entity metadata (columnTypes), so the entities stay the single source of truth.
 */
import type { EntityManager } from '@mikro-orm/core';
import { keyOf, type ResourceKey } from '../observations.js';
import type { TransitionDraft, TransitionTrigger } from '../sync/transitions.js';
import {
  columnTypes,
  deleteByIds,
  ident,
  IDS_PER_STATEMENT,
  intArray,
  query,
  recordsetDefinition,
  timestampColumns,
  type EncodedBatch,
  type Row,
} from './sql.js';

const RESOURCE_KEY = ['fabric_id', 'kind', 'namespace', 'name'] as const;
/** A state change is stamped only when the state really changes; otherwise the old stamp stays. */
const KEEP_UNLESS_STATE_CHANGED = (col: string) =>
  `CASE WHEN t.resource_state IS DISTINCT FROM excluded.resource_state THEN excluded.${col} ELSE t.${col} END`;
const UPDATE_EXPRESSIONS: Record<string, string> = {
  last_state_change: KEEP_UNLESS_STATE_CHANGED('last_state_change'),
  state_change_reason: KEEP_UNLESS_STATE_CHANGED('state_change_reason'),
  // Set once, when a source first reports the object (a draft-only row has none yet); never moved after.
  first_seen: 'coalesce(t.first_seen, excluded.first_seen)',
};

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
  const from = batch.constant.length
    ? `jsonb_to_record(?::jsonb) AS k(${recordsetDefinition(batch.constant, types)}) CROSS JOIN ${rows}`
    : rows;
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

/** The leading parameters of a batch's statement: the constants (when any), then the rows. */
function batchParams(batch: EncodedBatch): string[] {
  return batch.constant.length ? [batch.constantsJson, batch.rowsJson] : [batch.rowsJson];
}

/** The transitions of the rows of one batch, as the upsert statement's last parameter. */
export function transitionsJson(rows: readonly Row[], drafts: Map<string, TransitionDraft>): string {
  const out: Row[] = [];
  for (const row of rows) {
    const d = drafts.get(keyOf(row as unknown as ResourceKey));
    if (d) {
      out.push({
        kind: row.kind,
        namespace: row.namespace,
        name: row.name,
        from_state: d.from,
        to_state: d.to,
        reason: d.reason,
        context: d.context ?? {},
      });
    }
  }
  return JSON.stringify(out);
}

/**
 * Before rows are deleted: a `deleted` transition for each (from its current state, for the plan's reason),
 * and all their history detached (resource_id null) with their identity copied onto it, so it outlives them.
 * Returns the number of transitions recorded. There is no foreign key to do the detaching (its check cost every
 * history row, src/entities/state-transition.ts): this statement is what keeps no history pointing at a deleted row,
 * so deleteResources runs only after it, in the same transaction.
 */
export async function recordResourceDeletions(
  em: EntityManager,
  ids: readonly number[],
  drafts: readonly TransitionDraft[],
  trigger: TransitionTrigger,
  at: string,
  runId: number | null,
): Promise<number> {
  let recorded = 0;
  const reasons = JSON.stringify(
    drafts.map((d) => {
      const [kind, namespace, name] = d.key.split('/');
      return { kind, namespace, name, reason: d.reason };
    }),
  );
  for (let i = 0; i < ids.length; i += IDS_PER_STATEMENT) {
    const [r] = await query<{ transitions: number }>(em, DELETION_HISTORY, [
      intArray(ids.slice(i, i + IDS_PER_STATEMENT)),
      trigger,
      at,
      runId,
      reasons,
    ]);
    recorded += r!.transitions;
  }
  return recorded;
}

/** Parameters: ids (PostgreSQL array literal), trigger, timestamp, run id, reasons (keyed kind/namespace/name). */
const DELETION_HISTORY =
  `WITH r AS (SELECT id, fabric_id, kind, namespace, name, resource_state FROM hedgehog_resource WHERE id = ANY(?::int[])), ` +
  `hist AS (UPDATE state_transition st SET resource_id = NULL, kind = r.kind, namespace = r.namespace, name = r.name ` +
  `FROM r WHERE st.fabric_id = r.fabric_id AND st.resource_id = r.id RETURNING 1), ` +
  `tr AS (INSERT INTO state_transition (resource_id, fabric_id, kind, namespace, name, from_state, to_state, "trigger", reason, context, "timestamp", sync_operation_id) ` +
  `SELECT NULL, r.fabric_id, r.kind, r.namespace, r.name, r.resource_state, 'deleted', ?, coalesce(d.reason, 'deleted'), '{}'::jsonb, ?::timestamptz, ?::int ` +
  `FROM r LEFT JOIN jsonb_to_recordset(?::jsonb) AS d(kind text, namespace text, name text, reason text) USING (kind, namespace, name) RETURNING 1) ` +
  `SELECT (SELECT count(*) FROM tr)::int AS transitions, (SELECT count(*) FROM hist)::int AS detached`;

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

/** What one batch statement wrote. */
export interface BatchCounts {
  written: number;
  transitions: number;
}

/** The batch statements for one set of `hedgehog_resource` columns (the actual side's or the desired side's). */
export class ResourceBatchStatements {
  private readonly createSql: StatementCache;
  private readonly upsertSql: StatementCache;
  /** The columns holding timestamps (encodeBatch writes them as ISO strings). */
  readonly timestamps: string[];

  constructor(
    em: EntityManager,
    readonly columns: readonly string[],
  ) {
    const types = columnTypes(em, 'HedgehogResource');
    this.timestamps = timestampColumns(columns, types);
    this.createSql = new StatementCache((batch) => createStatement(columns, types, batch));
    this.upsertSql = new StatementCache((batch) => upsertStatement(columns, types, batch));
  }

  /** New rows whose transition is null → the row's own state, for its own reason (see isPlainCreation). */
  insertCreatedBatch(
    em: EntityManager,
    batch: EncodedBatch,
    trigger: TransitionTrigger,
    at: string,
    runId: number | null,
  ): Promise<BatchCounts> {
    return firstRow(query<BatchCounts>(em, this.createSql.get(batch), [...batchParams(batch), trigger, at, runId]));
  }

  /** Any rows, with their transitions (transitionsJson of the same rows). */
  upsertBatch(
    em: EntityManager,
    batch: EncodedBatch,
    transitions: string,
    trigger: TransitionTrigger,
    at: string,
    runId: number | null,
  ): Promise<BatchCounts> {
    return firstRow(
      query<BatchCounts>(em, this.upsertSql.get(batch), [...batchParams(batch), trigger, at, runId, transitions]),
    );
  }
}

async function firstRow(rows: Promise<BatchCounts[]>): Promise<BatchCounts> {
  const [r] = await rows;
  return r!;
}

/** True when the row's transition is exactly what the created-rows statement derives from the row itself. */
export function isPlainCreation(row: Row, d: TransitionDraft | undefined): boolean {
  return !!d && d.from === null && d.to === row.resource_state && d.reason === row.state_change_reason && !d.context;
}

/** Delete rows by id (after recordResourceDeletions). */
export function deleteResources(em: EntityManager, ids: readonly number[]): Promise<void> {
  return deleteByIds(em, 'hedgehog_resource', ids);
}
