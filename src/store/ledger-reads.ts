/**
 * The reads behind `hh-sync runs|history|get|fabric show|fabric remove` (src/reads/ledger-reads.ts): the run
 * history, the ledger's objects, who holds a fabric's locks right now, and how many rows a fabric owns.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { DriftOp, DriftSeverity, DriftStatus } from '../drift/types.js';
import type { ResourceState, SyncOperationStatus, SyncOperationType } from '../entities/enums.js';
import type { ObjectError } from '../observations.js';
import type { RunDetails } from '../sync/run-details.js';
import { LOCK_NAMESPACE } from './fabric-lock.js';
import { query } from './sql.js';
import { DB_NOW_MS, HEARTBEAT_MS, LOCK_NAMESPACE_WATCH } from './watch-lease.js';

/** A PostgreSQL text[] literal for one bound parameter, each element quoted. */
function textArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}

// ---------------------------------------------------------------- runs

export interface RunRow {
  id: number;
  type: SyncOperationType;
  status: SyncOperationStatus;
  started_at: Date;
  finished_at: Date | null;
  listed: number;
  created: number;
  updated: number;
  unchanged: number;
  cleared: number;
  failed: number;
  commit_sha: string | null;
  error_message: string | null;
  errors: ObjectError[] | null;
  skipped_kinds: unknown[] | null;
  details: RunDetails | null;
  /** The database's clock when the row was read (elapsed times of running runs are measured on it). */
  db_now: Date;
}

export interface RunRowFilter {
  limit: number;
  types?: readonly SyncOperationType[];
  statuses?: readonly SyncOperationStatus[];
}

/** The fabric's runs the filter selects, newest first, at most `limit`. */
export function selectRuns(em: EntityManager, fabricId: number, filter: RunRowFilter): Promise<RunRow[]> {
  const where = ['fabric_id = ?'];
  const params: unknown[] = [fabricId];
  if (filter.types?.length) {
    where.push('type = ANY(?::text[])');
    params.push(textArray(filter.types));
  }
  if (filter.statuses?.length) {
    where.push('status = ANY(?::text[])');
    params.push(textArray(filter.statuses));
  }
  params.push(filter.limit);
  return query<RunRow>(
    em,
    `SELECT id, type, status, started_at, finished_at, listed, created, updated, unchanged, cleared, failed, commit_sha,
            error_message, errors, skipped_kinds, details, clock_timestamp() AS db_now
       FROM sync_operation WHERE ${where.join(' AND ')} ORDER BY started_at DESC, id DESC LIMIT ?`,
    params,
  );
}

/** The type and commit of the runs `ids` (history entries name their run). */
export function selectRunsByIds(
  em: EntityManager,
  ids: readonly number[],
): Promise<{ id: number; type: SyncOperationType; commit_sha: string | null }[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return query(em, `SELECT id, type, commit_sha FROM sync_operation WHERE id = ANY(?::int[])`, [`{${ids.join(',')}}`]);
}

// ---------------------------------------------------------------- locks and leases

/** Advisory locks of this database with the two-int key (namespace, fabric id). */
const ADVISORY_KEY = `l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND l.classid::bigint = ? AND l.objid::bigint = ?
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`;

/**
 * Whether a run holds the fabric's per-run transaction lock now (src/store/fabric-lock.ts), and the newest of the
 * fabric's one-shot runs still `in_progress` (the only one that can be the lock's holder).
 */
export async function selectRunLockState(
  em: EntityManager,
  fabricId: number,
): Promise<{ held: boolean; newest_in_progress: number | null }> {
  const [row] = await query<{ held: boolean; newest_in_progress: number | null }>(
    em,
    `SELECT EXISTS (SELECT 1 FROM pg_locks l WHERE ${ADVISORY_KEY}) AS held,
            (SELECT id FROM sync_operation WHERE fabric_id = ? AND status = 'in_progress' AND type <> 'watch'
              ORDER BY started_at DESC, id DESC LIMIT 1) AS newest_in_progress`,
    [LOCK_NAMESPACE, fabricId, fabricId],
  );
  return row!; // a SELECT without FROM: one row
}

export interface WatchLeaseRow {
  pid: number;
  application_name: string;
  client_addr: string | null;
  client_hostname: string | null;
  /** null (as client_addr) when the holder is another database role and this one may not see its session details. */
  backend_start: Date | null;
  /** The holder's last heartbeat on the database's clock (epoch ms, as text: bigint); null if none written. */
  heartbeat_ms: string | null;
  now_ms: string;
}

/** The session holding the fabric's watch lease (a PostgreSQL server's advisory lock), if any. */
export async function selectWatchLeaseHolder(em: EntityManager, fabricId: number): Promise<WatchLeaseRow | null> {
  const [row] = await query<WatchLeaseRow>(
    em,
    `SELECT a.pid, a.application_name, host(a.client_addr) AS client_addr, a.client_hostname, a.backend_start,
            ${HEARTBEAT_MS('a')}::text AS heartbeat_ms, ${DB_NOW_MS}::text AS now_ms
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE ${ADVISORY_KEY} LIMIT 1`,
    [LOCK_NAMESPACE_WATCH, fabricId],
  );
  return row ?? null;
}

// ---------------------------------------------------------------- fabric rows

export interface FabricRowCounts {
  objects: number;
  runs: number;
  transitions: number;
  crd_schemas: number;
}

/** How many rows of each table belong to the fabric (detached history included). */
export async function countFabricRows(em: EntityManager, fabricId: number): Promise<FabricRowCounts> {
  const [row] = await query<FabricRowCounts>(
    em,
    `SELECT (SELECT count(*) FROM hedgehog_resource WHERE fabric_id = ?)::int AS objects,
            (SELECT count(*) FROM sync_operation WHERE fabric_id = ?)::int AS runs,
            (SELECT count(*) FROM state_transition WHERE fabric_id = ?)::int AS transitions,
            (SELECT count(*) FROM fabric_crd_schema WHERE fabric_id = ?)::int AS crd_schemas`,
    [fabricId, fabricId, fabricId, fabricId],
  );
  return row!; // a SELECT without FROM: one row
}

// ---------------------------------------------------------------- objects

export interface ObjectRowFilter {
  kind?: string;
  name?: string;
  namespaces?: readonly string[];
}

export interface ObjectRow {
  kind: string;
  namespace: string;
  name: string;
  api_version: string | null;
  resource_state: ResourceState;
  drift_status: DriftStatus | null;
  drift_severity: DriftSeverity;
  drift_score: number;
  drift_details: { differences?: DriftOp[]; extras?: DriftOp[] } | null;
  last_drift_check: Date | null;
  desired_spec: Record<string, unknown> | null;
  desired_commit: string | null;
  desired_file_path: string | null;
  desired_updated: Date | null;
  /** sync_metadata.desired.line: the document's first line when its content last changed in Git. */
  desired_line: number | null;
  actual_spec: Record<string, unknown> | null;
  actual_status: Record<string, unknown> | null;
  actual_resource_version: string | null;
  actual_uid: string | null;
  actual_updated: Date | null;
  draft_operation: string | null;
  last_sync_error: string | null;
  first_seen: Date | null;
  last_updated: Date;
}

/** The fabric's objects the filter selects, by kind, namespace and name. */
export function selectObjects(em: EntityManager, fabricId: number, filter: ObjectRowFilter): Promise<ObjectRow[]> {
  const where = ['fabric_id = ?'];
  const params: unknown[] = [fabricId];
  if (filter.kind !== undefined) {
    where.push('kind = ?');
    params.push(filter.kind);
  }
  if (filter.name !== undefined) {
    where.push('name = ?');
    params.push(filter.name);
  }
  if (filter.namespaces?.length) {
    where.push('namespace = ANY(?::text[])');
    params.push(textArray(filter.namespaces));
  }
  return query<ObjectRow>(
    em,
    `SELECT kind, namespace, name, api_version, resource_state, drift_status, drift_severity, drift_score, drift_details,
            last_drift_check, desired_spec, desired_commit, desired_file_path, desired_updated,
            CASE WHEN jsonb_typeof(sync_metadata->'desired'->'line') = 'number'
                 THEN (sync_metadata->'desired'->>'line')::int END AS desired_line,
            actual_spec, actual_status, actual_resource_version, actual_uid, actual_updated, draft_operation,
            last_sync_error, first_seen, last_updated
       FROM hedgehog_resource WHERE ${where.join(' AND ')} ORDER BY kind, namespace, name`,
    params,
  );
}
