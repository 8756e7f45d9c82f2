/**
 * `state_transition` rows: the history of every `resource_state` change. The planners draft them; the
 * resource writer inserts them in the same statement as the rows whose state changed, and records a
 * `deleted` transition for every row it deletes (that history outlives the row; see history.ts).
 */
import type { TransitionContext } from '../entities/state-transition.js';
import type { ResourceState, TransitionState, TransitionTrigger } from '../entities/enums.js';
import { keyOf, type ResourceKey } from '../observations.js';

export type { TransitionTrigger };

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

export type { TransitionContext };
