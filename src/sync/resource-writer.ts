/**
 * Executes a write plan: one upsert statement per batch of rows, one delete, one insert of transitions.
 * The caller owns the transaction.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { WritePlan } from './actual-plan.js';
import { deleteByIds, upsertRows } from './sql.js';
import { recordTransitions, type TransitionTrigger } from './transitions.js';

const RESOURCE_KEY = ['fabric_id', 'kind', 'namespace', 'name'] as const;

/** A state change is stamped only when the state really changes; otherwise the old stamp stays. */
const KEEP_UNLESS_STATE_CHANGED = (col: string) =>
  `CASE WHEN t.resource_state IS DISTINCT FROM excluded.resource_state THEN excluded.${col} ELSE t.${col} END`;

export interface AppliedPlan {
  written: number;
  deleted: number;
  transitions: number;
  /** kind/namespace/name → id of every row written. */
  idsByKey: Map<string, number>;
}

export async function applyWritePlan(
  em: EntityManager,
  fabricId: number,
  plan: WritePlan,
  columns: readonly string[],
  trigger: TransitionTrigger,
  now: Date,
): Promise<AppliedPlan> {
  const returned = await upsertRows(em, plan.upserts, {
    table: 'hedgehog_resource',
    entityName: 'HedgehogResource',
    key: RESOURCE_KEY,
    columns,
    updateExpressions: {
      last_state_change: KEEP_UNLESS_STATE_CHANGED('last_state_change'),
      state_change_reason: KEEP_UNLESS_STATE_CHANGED('state_change_reason'),
    },
    returning: ['id', 'kind', 'namespace', 'name'],
  });
  const idsByKey = new Map<string, number>();
  for (const r of returned) idsByKey.set(`${r.kind}/${r.namespace}/${r.name}`, r.id as number);
  await deleteByIds(em, 'hedgehog_resource', plan.deletes);
  const transitions = await recordTransitions(em, fabricId, trigger, plan.transitions, idsByKey, now);
  return { written: returned.length, deleted: plan.deletes.length, transitions, idsByKey };
}
