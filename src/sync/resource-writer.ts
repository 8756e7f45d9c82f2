/**
 * Executes a write plan: ONE statement per batch of rows that upserts the rows and records the state
 * transitions of those whose state changed, then one delete. The caller owns the transaction.
 *
 * Statements go one at a time on the transaction's connection; while the server works on one, the
 * JSON of the next batch is built.
 *
 * Transitions are inserted by a second data-modifying CTE fed by the upsert's RETURNING, so no round
 * trip fetches the new rows' ids. Two shapes:
 * - rows the plan creates (its transition is null → the row's own state, for the row's own reason):
 *   the transition is built from RETURNING alone — the bulk of a first sync costs no extra payload;
 * - every other row: the batch's transitions travel as a second JSON parameter, joined by key. (Not
 *   as extra members of the rows: adding keys to the row copies makes them dictionary objects, which
 *   JSON.stringify serializes several times slower.)
 * A row deleted in this run gets no transition: its history went with it.
 */
import type { EntityManager } from '@mikro-orm/core';
import { keyOf, type ResourceKey } from '../observations.js';
import type { WritePlan } from './actual-plan.js';
import { columnTypes, deleteByIds, ident, queryBound, recordsetDefinition, rowsToJson, timestampColumns, type Row } from './sql.js';
import type { TransitionDraft, TransitionTrigger } from './transitions.js';

const RESOURCE_KEY = ['fabric_id', 'kind', 'namespace', 'name'] as const;
/** Rows per statement: small enough for the overlap to matter in a kind of a few thousand objects. */
const BATCH_SIZE = 2000;

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

const TRANSITION_INSERT =
  'INSERT INTO state_transition (resource_id, fabric_id, from_state, to_state, "trigger", reason, context, "timestamp")';
const COUNTS = 'SELECT (SELECT count(*) FROM up)::int AS written, (SELECT count(*) FROM tr)::int AS transitions';

/** `WITH up AS (INSERT … ON CONFLICT … DO UPDATE … RETURNING …)` for rows of `columns` (parameter: the rows' JSON). */
function upsertCte(columns: readonly string[], types: Map<string, string>, returning: string): string {
  const cols = columns.map(ident).join(', ');
  const key = RESOURCE_KEY.map(ident).join(', ');
  const update = columns
    .filter((c) => !(RESOURCE_KEY as readonly string[]).includes(c))
    .map((c) => `${ident(c)} = ${UPDATE_EXPRESSIONS[c] ?? `excluded.${ident(c)}`}`)
    .join(', ');
  return (
    `WITH up AS (INSERT INTO hedgehog_resource AS t (${cols}) ` +
    `SELECT ${cols} FROM jsonb_to_recordset(?::jsonb) AS x(${recordsetDefinition(columns, types)}) ` +
    `ON CONFLICT (${key}) DO UPDATE SET ${update} RETURNING ${returning})`
  );
}

/** New rows, each with the transition null → its state. Parameters: rows, trigger, timestamp. */
function createStatement(columns: readonly string[], types: Map<string, string>): string {
  return (
    `${upsertCte(columns, types, 't.id, t.fabric_id, t.resource_state, t.state_change_reason')}, ` +
    `tr AS (${TRANSITION_INSERT} SELECT up.id, up.fabric_id, NULL, up.resource_state, ?, up.state_change_reason, '{}'::jsonb, ?::timestamptz ` +
    `FROM up RETURNING 1) ${COUNTS}`
  );
}

/** Any rows, with the transitions given. Parameters: rows, trigger, timestamp, transitions (keyed kind/namespace/name). */
function upsertStatement(columns: readonly string[], types: Map<string, string>): string {
  return (
    `${upsertCte(columns, types, 't.id, t.fabric_id, t.kind, t.namespace, t.name')}, ` +
    `tr AS (${TRANSITION_INSERT} SELECT up.id, up.fabric_id, d.from_state, d.to_state, ?, d.reason, coalesce(d.context, '{}'::jsonb), ?::timestamptz ` +
    `FROM up JOIN jsonb_to_recordset(?::jsonb) AS d(kind text, namespace text, name text, from_state text, to_state text, reason text, context jsonb) ` +
    `USING (kind, namespace, name) RETURNING 1) ${COUNTS}`
  );
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
 * The statements of one plan, batch by batch. Lazy: a batch's JSON is built when the writer asks for
 * it, which is while the server runs the previous statement.
 */
function* statementsOf(
  em: EntityManager,
  plan: WritePlan,
  columns: readonly string[],
  trigger: TransitionTrigger,
  at: string,
): Generator<{ sql: string; params: unknown[] }> {
  if (plan.upserts.length === 0) return;
  const types = columnTypes(em, 'HedgehogResource');
  const timestamps = timestampColumns(columns, types);
  const drafts = new Map(plan.transitions.map((d) => [d.key, d]));
  const created: Row[] = [];
  const others: Row[] = [];
  for (const row of plan.upserts) (isPlainCreation(row, drafts.get(keyOf(row as unknown as ResourceKey))) ? created : others).push(row);
  const create = createStatement(columns, types);
  for (let i = 0; i < created.length; i += BATCH_SIZE) {
    const batch = created.slice(i, i + BATCH_SIZE);
    yield { sql: create, params: [rowsToJson(batch, timestamps), trigger, at] };
  }
  const upsert = upsertStatement(columns, types);
  for (let i = 0; i < others.length; i += BATCH_SIZE) {
    const batch = others.slice(i, i + BATCH_SIZE);
    yield { sql: upsert, params: [rowsToJson(batch, timestamps), trigger, at, transitionsJson(batch, drafts)] };
  }
}

export async function applyWritePlan(
  em: EntityManager,
  plan: WritePlan,
  columns: readonly string[],
  trigger: TransitionTrigger,
  now: Date,
): Promise<AppliedPlan> {
  let written = 0;
  let transitions = 0;
  let running: Promise<void> | undefined;
  try {
    for (const { sql, params } of statementsOf(em, plan, columns, trigger, now.toISOString())) {
      await running;
      running = queryBound<{ written: number; transitions: number }>(em, sql, params).then(([r]) => {
        written += r!.written;
        transitions += r!.transitions;
      });
    }
    await running;
  } catch (err) {
    await running?.catch(() => undefined); // never leave a statement running behind an error
    throw err;
  }
  await deleteByIds(em, 'hedgehog_resource', plan.deletes);
  return { written, deleted: plan.deletes.length, transitions };
}
