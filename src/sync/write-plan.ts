/**
 * What a planner hands the writer (src/sync/resource-writer.ts): the rows to upsert, the ids to delete and the
 * state transitions to record, with the tallies a run reports. The actual and the desired planners both build it.
 */
import type { DriftStatus, ResourceState } from '../entities/enums.js';
import type { Row } from '../store/sql.js';
import type { TransitionDraft } from './transitions.js';

export interface WritePlan {
  upserts: Row[];
  deletes: number[];
  transitions: TransitionDraft[];
  created: number;
  updated: number;
  cleared: number;
  recreated: { kind: string; namespace: string; name: string; oldUid: string; newUid: string }[];
  /** Rows whose drift was recomputed without a change of their data. */
  reevaluated: number;
  /** What happened to each object, for the service's `resource` events. */
  changes: ResourceChange[];
}

export interface ResourceChange {
  kind: string;
  namespace: string;
  name: string;
  change: 'created' | 'updated' | 'cleared' | 'deleted';
  driftStatus?: DriftStatus;
  state?: ResourceState;
}

/** A plan with nothing in it: the start of a chunk, or of a run's tally. */
export function emptyPlan(): WritePlan {
  return {
    upserts: [],
    deletes: [],
    transitions: [],
    created: 0,
    updated: 0,
    cleared: 0,
    recreated: [],
    reevaluated: 0,
    changes: [],
  };
}
