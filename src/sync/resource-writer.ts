/**
 * Executes a write plan: ONE statement per batch of rows that upserts the rows and records the state
 * transitions of those whose state changed, then one delete. The caller owns the transaction.
 *
 * The batch's transitions travel as a second JSON parameter and are inserted by a second
 * data-modifying CTE joined to the upsert's RETURNING: no round trip to fetch the new rows' ids.
 * (Not as extra members of the rows: adding keys to the row copies makes them dictionary objects,
 * which JSON.stringify serializes several times slower.) A row deleted in this run gets no
 * transition: its history went with it.
 */
import type { EntityManager } from '@mikro-orm/core';
import { keyOf, type ResourceKey } from '../observations.js';
import type { WritePlan } from './actual-plan.js';
import { columnTypes, deleteByIds, ident, queryBound, recordsetDefinition, rowsToJson, timestampColumns, type Row } from './sql.js';
import type { TransitionDraft, TransitionTrigger } from './transitions.js';

const RESOURCE_KEY = ['fabric_id', 'kind', 'namespace', 'name'] as const;
const BATCH_SIZE = 5000;

/** A state change is stamped only when the state really changes; otherwise the old stamp stays. */
const KEEP_UNLESS_STATE_CHANGED = (col: string) =>
  `CASE WHEN t.resource_state IS DISTINCT FROM excluded.resource_state THEN excluded.${col} ELSE t.${col} END`;
const UPDATE_EXPRESSIONS: Record<string, string> = {
  last_state_change: KEEP_UNLESS_STATE_CHANGED('last_state_change'),
  state_change_reason: KEEP_UNLESS_STATE_CHANGED('state_change_reason'),
};

export interface AppliedPlan {
  written: number;
  deleted: number;
  transitions: number;
}

/**
 * The upsert-with-history statement for rows of `columns`.
 * Parameters: the rows (JSON), their transitions (JSON, keyed kind/namespace/name), trigger, timestamp.
 */
function upsertStatement(columns: readonly string[], types: Map<string, string>): string {
  const cols = columns.map(ident).join(', ');
  const key = RESOURCE_KEY.map(ident).join(', ');
  const update = columns
    .filter((c) => !(RESOURCE_KEY as readonly string[]).includes(c))
    .map((c) => `${ident(c)} = ${UPDATE_EXPRESSIONS[c] ?? `excluded.${ident(c)}`}`)
    .join(', ');
  return (
    `WITH up AS (INSERT INTO hedgehog_resource AS t (${cols}) ` +
    `SELECT ${cols} FROM jsonb_to_recordset(?::jsonb) AS x(${recordsetDefinition(columns, types)}) ` +
    `ON CONFLICT (${key}) DO UPDATE SET ${update} RETURNING t.id, t.fabric_id, t.kind, t.namespace, t.name), ` +
    `tr AS (INSERT INTO state_transition (resource_id, fabric_id, from_state, to_state, "trigger", reason, context, "timestamp") ` +
    `SELECT up.id, up.fabric_id, d.from_state, d.to_state, ?, d.reason, coalesce(d.context, '{}'::jsonb), ?::timestamptz ` +
    `FROM up JOIN jsonb_to_recordset(?::jsonb) AS d("key" text, from_state text, to_state text, reason text, context jsonb) ` +
    `ON d."key" = up.kind || '/' || up.namespace || '/' || up.name RETURNING 1) ` +
    `SELECT (SELECT count(*) FROM up)::int AS written, (SELECT count(*) FROM tr)::int AS transitions`
  );
}

/** The transitions of the rows of one batch, as the statement's second JSON parameter. */
function transitionsJson(rows: readonly Row[], drafts: Map<string, TransitionDraft>): string {
  const out: { key: string; from_state: string | null; to_state: string; reason: string; context: Record<string, unknown> }[] = [];
  for (const row of rows) {
    const d = drafts.get(keyOf(row as unknown as ResourceKey));
    if (d) out.push({ key: d.key, from_state: d.from, to_state: d.to, reason: d.reason, context: d.context ?? {} });
  }
  return JSON.stringify(out);
}

export async function applyWritePlan(
  em: EntityManager,
  fabricId: number,
  plan: WritePlan,
  columns: readonly string[],
  trigger: TransitionTrigger,
  now: Date,
): Promise<AppliedPlan> {
  let written = 0;
  let transitions = 0;
  if (plan.upserts.length > 0) {
    const types = columnTypes(em, 'HedgehogResource');
    const timestamps = timestampColumns(columns, types);
    const sql = upsertStatement(columns, types);
    const drafts = new Map(plan.transitions.map((d) => [d.key, d]));
    for (let i = 0; i < plan.upserts.length; i += BATCH_SIZE) {
      const batch = plan.upserts.slice(i, i + BATCH_SIZE);
      const [r] = await queryBound<{ written: number; transitions: number }>(em, sql, [
        rowsToJson(batch, timestamps),
        trigger,
        now.toISOString(),
        transitionsJson(batch, drafts),
      ]);
      written += r!.written;
      transitions += r!.transitions;
    }
  }
  await deleteByIds(em, 'hedgehog_resource', plan.deletes);
  return { written, deleted: plan.deletes.length, transitions };
}
