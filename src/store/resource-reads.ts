/**
 * Reads and small updates over `hedgehog_resource` and `state_transition` for reports, the watch's metrics and
 * refused objects. (The planners' loads are in stored-resources.ts, the writer's statements in resource-batches.ts.)
 */
import type { EntityManager } from '@mikro-orm/core';
import type { DriftOp, DriftSeverity, DriftStatus } from '../drift/types.js';
import type { ResourceState, TransitionState, TransitionTrigger } from '../entities/enums.js';
import type { TransitionContext } from '../entities/state-transition.js';
import { intArray, query, type SqlTarget } from './sql.js';

// ---------------------------------------------------------------- drift report

export interface DriftCountRow {
  drift_status: DriftStatus | null;
  drift_severity: DriftSeverity;
  count: number;
}

/** Rows per drift status and severity of a fabric (status null = drift never computed). */
export function countResourcesByDrift(db: SqlTarget, fabricId: number): Promise<DriftCountRow[]> {
  return query<DriftCountRow>(
    db,
    `SELECT drift_status, drift_severity, count(*)::int AS count FROM hedgehog_resource WHERE fabric_id = ? GROUP BY drift_status, drift_severity`,
    [fabricId],
  );
}

export interface DriftedRowFilter {
  status?: readonly DriftStatus[];
  severity?: readonly DriftSeverity[];
  kind?: readonly string[];
  namespace?: readonly string[];
  includeInSync?: boolean;
}

export interface DriftedRow {
  kind: string;
  namespace: string;
  name: string;
  drift_status: DriftStatus;
  drift_score: number;
  drift_severity: DriftSeverity;
  drift_details: { differences?: DriftOp[]; extras?: DriftOp[] } | null;
  managed_file_path: string | null;
  last_drift_check: Date | null;
  desired_spec: Record<string, unknown> | null;
  actual_spec: Record<string, unknown> | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  sync_metadata: { desired?: { labels?: Record<string, string>; annotations?: Record<string, string> } } | null;
}

const SEVERITY_ORDER = `CASE drift_severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END`;

/** The fabric's rows the filter selects (by default those that differ), worst severity first. */
export function selectDriftedRows(db: SqlTarget, fabricId: number, filter: DriftedRowFilter): Promise<DriftedRow[]> {
  const where = ['fabric_id = ?'];
  const params: unknown[] = [fabricId];
  if (!filter.includeInSync && !filter.status?.length)
    where.push(`drift_status IS NOT NULL AND drift_status <> 'in_sync'`);
  if (filter.status?.length) {
    where.push(`drift_status = ANY(?::text[])`);
    params.push(textArray(filter.status));
  }
  if (filter.severity?.length) {
    where.push(`drift_severity = ANY(?::text[])`);
    params.push(textArray(filter.severity));
  }
  if (filter.kind?.length) {
    where.push(`kind = ANY(?::text[])`);
    params.push(textArray(filter.kind));
  }
  if (filter.namespace?.length) {
    where.push(`namespace = ANY(?::text[])`);
    params.push(textArray(filter.namespace));
  }
  return query<DriftedRow>(
    db,
    `SELECT kind, namespace, name, drift_status, drift_score, drift_severity, drift_details, managed_file_path, last_drift_check,
            desired_spec, actual_spec, labels, annotations, sync_metadata
       FROM hedgehog_resource WHERE ${where.join(' AND ')} ORDER BY ${SEVERITY_ORDER}, kind, namespace, name`,
    params,
  );
}

export interface UnreadableRow {
  kind: string;
  namespace: string;
  name: string;
  reason: string;
}

/** The fabric's rows marked refused (last_sync_error), optionally of some kinds and namespaces. */
export function selectUnreadableRows(
  db: SqlTarget,
  fabricId: number,
  filter: { kind?: readonly string[]; namespace?: readonly string[] } = {},
): Promise<UnreadableRow[]> {
  const where = ['fabric_id = ?', 'last_sync_error IS NOT NULL'];
  const params: unknown[] = [fabricId];
  if (filter.kind?.length) {
    where.push('kind = ANY(?::text[])');
    params.push(textArray(filter.kind));
  }
  if (filter.namespace?.length) {
    where.push('namespace = ANY(?::text[])');
    params.push(textArray(filter.namespace));
  }
  return query<UnreadableRow>(
    db,
    `SELECT kind, namespace, name, last_sync_error AS reason FROM hedgehog_resource
      WHERE ${where.join(' AND ')}
      ORDER BY kind, namespace, name`,
    params,
  );
}

/** A PostgreSQL text[] literal for one bound parameter, each element quoted. */
function textArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}

// ---------------------------------------------------------------- refused objects

export interface RefusalMarkRow {
  namespace: string;
  name: string;
  mark: string;
}

/** Set last_sync_error on the existing rows of `kind` named in `marks`; returns how many rows were marked. */
export async function markRefusedRows(
  em: EntityManager,
  fabricId: number,
  kind: string,
  marks: readonly RefusalMarkRow[],
): Promise<number> {
  const marked = await query<{ id: number }>(
    em,
    `UPDATE hedgehog_resource t SET last_sync_error = r.mark
       FROM jsonb_to_recordset(?::jsonb) AS r(namespace text, name text, mark text)
      WHERE t.fabric_id = ? AND t.kind = ? AND t.namespace = r.namespace AND t.name = r.name
      RETURNING t.id`,
    [JSON.stringify(marks), fabricId, kind],
  );
  return marked.length;
}

// ---------------------------------------------------------------- watch metrics

export interface ObjectCountRow {
  fabric_id: number;
  kind: string;
  drift_status: string;
  n: number;
}

/** Rows per fabric, kind and drift status, for the given fabrics. */
export function countObjectsByKindAndDrift(em: EntityManager, fabricIds: readonly number[]): Promise<ObjectCountRow[]> {
  return query<ObjectCountRow>(
    em,
    `SELECT fabric_id, kind, drift_status, count(*)::int AS n FROM hedgehog_resource
      WHERE fabric_id = ANY(?::int[]) GROUP BY fabric_id, kind, drift_status`,
    [intArray(fabricIds)],
  );
}

// ---------------------------------------------------------------- history

export interface HistoryRow {
  id: number;
  at: Date;
  from: ResourceState | null;
  to: TransitionState;
  trigger: TransitionTrigger;
  reason: string;
  runId: number | null;
  resourceId: number | null;
  context: TransitionContext;
}

const ENTRY = `st.id, st."timestamp" AS at, st.from_state AS "from", st.to_state AS "to", st."trigger", st.reason,
  st.sync_operation_id AS "runId", st.resource_id AS "resourceId", st.context`;

/**
 * Every transition of `kind/namespace/name` in a fabric, oldest first: the live row's history (through
 * resource_id, indexed) and that of earlier incarnations that were deleted (by identity, on a partial index of
 * detached history).
 */
export function selectResourceHistory(
  em: EntityManager,
  fabricId: number,
  kind: string,
  namespace: string,
  name: string,
): Promise<HistoryRow[]> {
  const key = [fabricId, kind, namespace, name];
  return query<HistoryRow>(
    em,
    `SELECT ${ENTRY} FROM state_transition st
       JOIN hedgehog_resource r ON r.id = st.resource_id AND st.fabric_id = r.fabric_id
      WHERE r.fabric_id = ? AND r.kind = ? AND r.namespace = ? AND r.name = ?
     UNION ALL
     SELECT ${ENTRY} FROM state_transition st
      WHERE st.resource_id IS NULL AND st.fabric_id = ? AND st.kind = ? AND st.namespace = ? AND st.name = ?
     ORDER BY at, id`,
    [...key, ...key],
  );
}

export interface FabricDriftCountRow {
  fabric_id: number;
  drift_status: string;
  drift_severity: string;
  n: number;
}

/** Rows per fabric, drift status and severity, for the given fabrics (a row not yet compared counts as `unknown`). */
export function countDriftByStatusAndSeverity(
  em: EntityManager,
  fabricIds: readonly number[],
): Promise<FabricDriftCountRow[]> {
  return query<FabricDriftCountRow>(
    em,
    `SELECT fabric_id, coalesce(drift_status, 'unknown') AS drift_status, drift_severity, count(*)::int AS n
       FROM hedgehog_resource WHERE fabric_id = ANY(?::int[]) GROUP BY 1, 2, 3`,
    [intArray(fabricIds)],
  );
}
