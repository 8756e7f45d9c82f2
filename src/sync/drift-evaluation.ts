/**
 * Glue between a ledger row's two sides and the pure drift engine: builds the engine's input from the
 * row, and turns the engine's result into the row's drift columns and lifecycle state.
 */
import { computeDrift } from '../drift/compute-drift.js';
import type { DriftResult, IgnoreRule, SchemaDefaults } from '../drift/types.js';
import { resourceStateFor, type ResourceState } from './resource-state.js';
import type { DesiredMetadata } from '../store/stored-resources.js';

export interface RowSides {
  kind: string;
  name: string;
  desiredSpec: Record<string, unknown> | null;
  desiredMeta: DesiredMetadata | undefined;
  previousDesiredSpec: Record<string, unknown> | null;
  desiredUpdated: Date | null;
  /** The row holds a draft (apply or delete): its state is `draft` until the draft is published or discarded. */
  hasDraft: boolean;
  actualSpec: Record<string, unknown> | null;
  actualLabels: Record<string, string>;
  actualAnnotations: Record<string, string>;
}

export interface DriftContext {
  ignore: readonly IgnoreRule[];
  /** Schema defaults per kind (from CRDs), when known. */
  schemaDefaults: (kind: string) => SchemaDefaults | null;
  /**
   * When the cluster was last read completely. A Git change newer than that is "pending"
   * (the cluster has not been looked at since), not drift.
   */
  lastActualRead: Date | null;
  now: Date;
}

export interface DriftColumns {
  drift_status: DriftResult['status'];
  drift_score: number;
  drift_severity: DriftResult['severity'];
  drift_details: Record<string, unknown>;
  last_drift_check: Date;
  resource_state: ResourceState;
}

export function evaluateDrift(row: RowSides, ctx: DriftContext): DriftColumns {
  const gitNewerThanCluster =
    row.desiredUpdated !== null &&
    (ctx.lastActualRead === null || row.desiredUpdated.getTime() > ctx.lastActualRead.getTime());
  const result = computeDrift({
    kind: row.kind,
    name: row.name,
    desired: row.desiredSpec
      ? {
          spec: row.desiredSpec,
          labels: row.desiredMeta?.labels ?? {},
          annotations: row.desiredMeta?.annotations ?? {},
        }
      : null,
    actual: row.actualSpec
      ? { spec: row.actualSpec, labels: row.actualLabels, annotations: row.actualAnnotations }
      : null,
    previousDesiredSpec: row.previousDesiredSpec,
    ignore: ctx.ignore,
    schemaDefaults: ctx.schemaDefaults(row.kind),
    omitWholeValue: true, // the row holds the side; the drift report rebuilds the value (drift-report.ts)
    pending: {
      desiredChangedRecently: gitNewerThanCluster && row.desiredSpec !== null,
      desiredRemovedRecently: gitNewerThanCluster && row.desiredSpec === null && row.previousDesiredSpec !== null,
    },
  });
  return {
    drift_status: result.status,
    drift_score: result.score,
    drift_severity: result.severity,
    drift_details: { differences: result.differences, extras: result.extras, comparedPaths: result.comparedPaths },
    last_drift_check: ctx.now,
    resource_state: resourceStateFor(result.status, {
      desired: row.desiredSpec !== null,
      actual: row.actualSpec !== null,
      draft: row.hasDraft,
    }),
  };
}

/** The columns every write of a row sets from its drift evaluation and state, on either side. */
export const EVALUATED_COLUMNS = [
  'drift_status',
  'drift_score',
  'drift_severity',
  'drift_details',
  'last_drift_check',
  'resource_state',
  'last_state_change',
  'state_change_reason',
  'last_updated',
  'first_seen',
] as const;
