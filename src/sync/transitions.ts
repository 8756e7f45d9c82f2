/** `state_transition` rows: the history of every `resource_state` change, written set-wise. */
import type { EntityManager } from '@mikro-orm/core';
import type { ResourceState } from './resource-state.js';
import { insertRows } from './sql.js';

export type TransitionTrigger = 'sync_actual' | 'sync_desired' | 'watch' | 'manual' | 'sync';

export interface TransitionDraft {
  key: string;
  from: ResourceState | null;
  to: ResourceState;
  reason: string;
  context?: Record<string, unknown>;
}

export async function recordTransitions(
  em: EntityManager,
  fabricId: number,
  trigger: TransitionTrigger,
  drafts: readonly TransitionDraft[],
  idsByKey: Map<string, number>,
  at: Date,
): Promise<number> {
  const rows = [];
  for (const d of drafts) {
    const id = idsByKey.get(d.key);
    if (id === undefined) continue; // the row was deleted in this run: its history went with it
    rows.push({
      resource_id: id,
      fabric_id: fabricId,
      from_state: d.from,
      to_state: d.to,
      trigger,
      reason: d.reason,
      context: d.context ?? {},
      timestamp: at,
    });
  }
  await insertRows(em, rows, {
    table: 'state_transition',
    entityName: 'StateTransition',
    columns: ['resource_id', 'fabric_id', 'from_state', 'to_state', 'trigger', 'reason', 'context', 'timestamp'],
  });
  return rows.length;
}
