/** `driftReport(fabric)`: counts per drift status and severity, and the drifted objects with their differences. */
import type { SqlTarget } from '../store/sql.js';
import { wholeSideValue } from '../drift/compute-drift.js';
import {
  DRIFT_SEVERITIES,
  DRIFT_STATUSES,
  type DriftOp,
  type DriftSeverity,
  type DriftStatus,
} from '../drift/types.js';
import {
  countResourcesByDrift,
  selectDriftedRows,
  selectUnreadableRows,
  type DriftedRow,
} from '../store/resource-reads.js';

export interface DriftReportFilter {
  status?: DriftStatus[];
  severity?: DriftSeverity[];
  kind?: string[];
  /** Only objects in these namespaces (default: all). */
  namespace?: string[];
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
  summary: {
    total: number;
    byStatus: Record<DriftStatus, number>;
    bySeverity: Record<DriftSeverity, number>;
    unchecked: number;
  };
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

/**
 * The report of `fabric` (its id and name are all it needs: a HedgehogFabric, or a row the CLI read without the
 * ORM), on an EntityManager or any SqlExecutor.
 */
export async function driftReport(
  db: SqlTarget,
  fabric: { id: number; name: string },
  filter: DriftReportFilter = {},
): Promise<DriftReport> {
  const summary = await driftSummary(db, fabric.id);
  const rows = await selectDriftedRows(db, fabric.id, filter);
  const unreadable = await selectUnreadableRows(db, fabric.id, filter);
  return {
    fabric: fabric.name,
    summary,
    unreadable: unreadable.map((u) => ({ kind: u.kind, namespace: u.namespace, name: u.name, reason: u.reason })),
    resources: rows.map((r) => ({
      kind: r.kind,
      namespace: r.namespace,
      name: r.name,
      driftStatus: r.drift_status,
      driftScore: r.drift_score,
      driftSeverity: r.drift_severity,
      differences: (r.drift_details?.differences ?? []).map((op) => withWholeValue(op, r)),
      extras: r.drift_details?.extras ?? [],
      filePath: r.managed_file_path,
      lastDriftCheck: r.last_drift_check ? new Date(r.last_drift_check).toISOString() : null,
    })),
  };
}

/** Counts per drift status and severity of the fabric's rows (`unchecked`: drift never computed). */
export async function driftSummary(db: SqlTarget, fabricId: number): Promise<DriftReport['summary']> {
  const counts = await countResourcesByDrift(db, fabricId);
  const byStatus = Object.fromEntries(DRIFT_STATUSES.map((s) => [s, 0])) as Record<DriftStatus, number>;
  const bySeverity = Object.fromEntries(DRIFT_SEVERITIES.map((s) => [s, 0])) as Record<DriftSeverity, number>;
  let total = 0;
  let unchecked = 0;
  for (const r of counts) {
    const n = r.count;
    total += n;
    if (r.drift_status === null) {
      unchecked += n;
      continue;
    }
    byStatus[r.drift_status] += n;
    bySeverity[r.drift_severity] += n;
  }
  return { total, byStatus, bySeverity, unchecked };
}

/** The ledger stores a whole-object op without its value (the row holds the side); the report puts it back. */
function withWholeValue(op: DriftOp, r: DriftedRow): DriftOp {
  if (op.path !== '' || 'desired' in op || 'actual' in op) return op;
  if (op.op === 'add' && r.desired_spec) {
    const meta = r.sync_metadata?.desired ?? {};
    return {
      ...op,
      desired: wholeSideValue(
        { spec: r.desired_spec, labels: meta.labels, annotations: meta.annotations },
        r.kind,
        r.name,
      ),
    };
  }
  if (op.op === 'remove' && r.actual_spec) {
    return {
      ...op,
      actual: wholeSideValue({ spec: r.actual_spec, labels: r.labels, annotations: r.annotations }, r.kind, r.name),
    };
  }
  return op;
}
