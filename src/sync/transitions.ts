/**
 * `state_transition` rows: the history of every `resource_state` change. The planners draft them; the
 * resource writer inserts them in the same statement as the rows whose state changed, and records a
 * `deleted` transition for every row it deletes (that history outlives the row; see history.ts).
 */
import type { ResourceState, TransitionState, TransitionTrigger } from '../entities/enums.js';
import { keyOf, type ResourceKey } from '../observations.js';

export type { TransitionTrigger };

/**
 * What a transition's `context` holds (`state_transition.context`, jsonb): empty, except for an object deleted and
 * recreated in the cluster between two reads, whose transition names both uids. A type alias: it is stored as a record.
 */
export type TransitionContext = { oldUid?: string; newUid?: string };

export interface TransitionDraft {
  key: string;
  from: ResourceState | null;
  to: TransitionState;
  reason: string;
  context?: TransitionContext;
}

/** The transition of a row the plan deletes (the row itself is in the plan's `deletes`, by id). */
export function deletionDraft(row: ResourceKey & { resourceState: ResourceState }, reason: string): TransitionDraft {
  return { key: keyOf(row), from: row.resourceState, to: 'deleted', reason };
}
