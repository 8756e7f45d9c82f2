/** `driftReport(fabric)`: counts per drift status and severity, and the drifted objects with their differences. */
import type { EntityManager } from '@mikro-orm/core';
import type { HedgehogFabric } from '../entities/index.js';
import { wholeSideValue } from '../drift/compute-drift.js';
import { DRIFT_SEVERITIES, DRIFT_STATUSES, type DriftOp, type DriftSeverity, type DriftStatus } from '../drift/types.js';
import { query } from './sql.js';

export interface DriftReportFilter {
  status?: DriftStatus[];
  severity?: DriftSeverity[];
  kind?: string[];
  /** Include in-sync objects in `resources` too (default: only the ones that differ). */
  includeInSync?: boolean;
}

export interface DriftedResource {
  kind: string;
  namespace: string;
  name: string;
  driftStatus: DriftStatus;
  driftScore: number;
  driftSeverity: DriftSeverity;
  differences: DriftOp[];
  extras: DriftOp[];
  filePath: string | null;
  lastDriftCheck: string | null;
}

export interface DriftReport {
  fabric: string;
  /** `unchecked`: rows whose drift was never computed (e.g. drafts). */
  summary: { total: number; byStatus: Record<DriftStatus, number>; bySeverity: Record<DriftSeverity, number>; unchecked: number };
  resources: DriftedResource[];
  /**
   * Objects whose current version in the cluster was refused (see src/sync/refused-objects.ts): their rows, and so
   * their drift, are as of the last version read — stale. `reason` is the row's last_sync_error.
   */
  unreadable: UnreadableResource[];
}

export interface UnreadableResource {
  kind: string;
  namespace: string;
  name: string;
  reason: string;
}

const SEVERITY_ORDER = `CASE drift_severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END`;

export async function driftReport(em: EntityManager, fabric: HedgehogFabric, filter: DriftReportFilter = {}): Promise<DriftReport> {
  const counts = await query<{ drift_status: DriftStatus | null; drift_severity: DriftSeverity; c: string | number }>(
    em,
    `SELECT drift_status, drift_severity, count(*) AS c FROM hedgehog_resource WHERE fabric_id = ? GROUP BY drift_status, drift_severity`,
    [fabric.id],
  );
  const byStatus = Object.fromEntries(DRIFT_STATUSES.map((s) => [s, 0])) as Record<DriftStatus, number>;
  const bySeverity = Object.fromEntries(DRIFT_SEVERITIES.map((s) => [s, 0])) as Record<DriftSeverity, number>;
  let total = 0;
  let unchecked = 0;
  for (const r of counts) {
    const n = Number(r.c);
    total += n;
    if (r.drift_status === null) {
      unchecked += n;
      continue;
    }
    byStatus[r.drift_status] += n;
    bySeverity[r.drift_severity] += n;
  }

  const where = ['fabric_id = ?'];
  const params: unknown[] = [fabric.id];
  if (!filter.includeInSync && !filter.status?.length) where.push(`drift_status IS NOT NULL AND drift_status <> 'in_sync'`);
  if (filter.status?.length) {
    where.push(`drift_status IN (${filter.status.map(() => '?').join(', ')})`);
    params.push(...filter.status);
  }
  if (filter.severity?.length) {
    where.push(`drift_severity IN (${filter.severity.map(() => '?').join(', ')})`);
    params.push(...filter.severity);
  }
  if (filter.kind?.length) {
    where.push(`kind IN (${filter.kind.map(() => '?').join(', ')})`);
    params.push(...filter.kind);
  }
  const rows = await query<{
    kind: string; namespace: string; name: string; drift_status: DriftStatus; drift_score: number; drift_severity: DriftSeverity;
    drift_details: { differences?: DriftOp[]; extras?: DriftOp[] } | null; managed_file_path: string | null; last_drift_check: Date | null;
    desired_spec: Record<string, unknown> | null; actual_spec: Record<string, unknown> | null;
    labels: Record<string, string>; annotations: Record<string, string>;
    sync_metadata: { desired?: { labels?: Record<string, string>; annotations?: Record<string, string> } } | null;
  }>(
    em,
    `SELECT kind, namespace, name, drift_status, drift_score, drift_severity, drift_details, managed_file_path, last_drift_check,
            desired_spec, actual_spec, labels, annotations, sync_metadata
       FROM hedgehog_resource WHERE ${where.join(' AND ')} ORDER BY ${SEVERITY_ORDER}, kind, namespace, name`,
    params,
  );
  const unreadable = await query<UnreadableResource>(
    em,
    `SELECT kind, namespace, name, last_sync_error AS reason FROM hedgehog_resource
      WHERE fabric_id = ? AND last_sync_error IS NOT NULL${filter.kind?.length ? ` AND kind IN (${filter.kind.map(() => '?').join(', ')})` : ''}
      ORDER BY kind, namespace, name`,
    [fabric.id, ...(filter.kind ?? [])],
  );
  return {
    fabric: fabric.name,
    summary: { total, byStatus, bySeverity, unchecked },
    unreadable: unreadable.map((u) => ({ kind: u.kind, namespace: u.namespace, name: u.name, reason: u.reason })),
    resources: rows.map((r) => ({
      kind: r.kind,
      namespace: r.namespace,
      name: r.name,
      driftStatus: r.drift_status,
      driftScore: Number(r.drift_score),
      driftSeverity: r.drift_severity,
      differences: (r.drift_details?.differences ?? []).map((op) => withWholeValue(op, r)),
      extras: r.drift_details?.extras ?? [],
      filePath: r.managed_file_path,
      lastDriftCheck: r.last_drift_check ? new Date(r.last_drift_check).toISOString() : null,
    })),
  };
}

/** The ledger stores a whole-object op without its value (the row holds the side); the report puts it back. */
function withWholeValue(
  op: DriftOp,
  r: {
    kind: string;
    name: string;
    desired_spec: Record<string, unknown> | null;
    actual_spec: Record<string, unknown> | null;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    sync_metadata: { desired?: { labels?: Record<string, string>; annotations?: Record<string, string> } } | null;
  },
): DriftOp {
  if (op.path !== '' || 'desired' in op || 'actual' in op) return op;
  if (op.op === 'add' && r.desired_spec) {
    const meta = r.sync_metadata?.desired ?? {};
    return { ...op, desired: wholeSideValue({ spec: r.desired_spec, labels: meta.labels, annotations: meta.annotations }, r.kind, r.name) };
  }
  if (op.op === 'remove' && r.actual_spec) {
    return { ...op, actual: wholeSideValue({ spec: r.actual_spec, labels: r.labels, annotations: r.annotations }, r.kind, r.name) };
  }
  return op;
}
