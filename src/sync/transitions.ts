/**
 * `state_transition` rows: the history of every `resource_state` change. The planners draft them; the
 * resource writer inserts them in the same statement as the rows whose state changed.
 */
import type { ResourceState, TransitionTrigger } from '../entities/enums.js';

export type { TransitionTrigger };

export interface TransitionDraft {
  key: string;
  from: ResourceState | null;
  to: ResourceState;
  reason: string;
  context?: Record<string, unknown>;
}
