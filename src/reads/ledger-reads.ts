/**
 * What the ledger holds, read for people and scripts (`hh-sync runs|history|get|fabric show`, LedgerReader's
 * `runs`, `history`, `objects`, `fabricOverview`): run history, one object's transitions, objects with both sides and
 * their provenance, and a fabric's overview with who holds its watch lease. Reads only; no cluster or Git code.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { DriftOp, DriftSeverity, DriftStatus } from '../drift/types.js';
import type { HedgehogFabric } from '../entities/index.js';
import type { DraftOperation, ResourceState, SyncOperationStatus, SyncOperationType } from '../entities/enums.js';
import type { ObjectError } from '../observations.js';
import {
  countFabricRows,
  selectObjects,
  selectRunLockState,
  selectRuns,
  selectRunsByIds,
  selectWatchLeaseHolder,
  type ObjectRow,
  type RunRow,
  type WatchLeaseRow,
} from '../store/ledger-reads.js';
import { driftSummary, type DriftReport } from '../sync/drift-report.js';
// Types only: sync/history.js itself imports the sync errors, and with them the Kubernetes client.
import type { ResourceHistoryEntry, ResourceIdentity } from '../sync/history.js';
import { selectResourceHistory } from '../store/resource-reads.js';
import type { RunCounts } from '../sync/run-recorder.js';

/** The CLI watch's lease period (src/watch/lease-backend.ts DEFAULT_LEASE_PERIOD_MS); a library watch may set another. */
export const DEFAULT_WATCH_LEASE_PERIOD_MS = 15_000;
/** The sync service's default lock wait (FabricSyncService lockTimeoutMs). */
const DEFAULT_LOCK_TIMEOUT_MS = 30_000;

export interface ReadOptions {
  /** The watch lease period the fabric's watches run with (default 15 000 ms, the CLI's): when a lease expires. */
  leasePeriodMs?: number;
  /**
   * The sync service's lock wait (default 30 000 ms). As the service judges it, a one-shot run `in_progress` that
   * started more than this + 5 s ago while no run holds the fabric's lock was abandoned (its process died).
   */
  lockTimeoutMs?: number;
}

// ---------------------------------------------------------------- runs

/**
 * Where a run still `in_progress` is: `running` (it holds the fabric's lock or lease, or started too recently to
 * judge), `abandoned` (its process is gone: no lock or lease held; the fabric's next sync or watch closes it as
 * failed), `unknown` (a watch run on the embedded ledger, whose leases live in the watch's own process).
 */
export type RunProgress = 'running' | 'abandoned' | 'unknown';

export interface RunFilter {
  /** Most runs returned, newest first (default 20). */
  limit?: number;
  type?: readonly SyncOperationType[];
  status?: readonly SyncOperationStatus[];
}

export interface RunRecord {
  id: number;
  type: SyncOperationType;
  status: SyncOperationStatus;
  startedAt: Date;
  finishedAt: Date | null;
  /**
   * A finished run's duration; for one in progress, the time elapsed so far (on the database's clock); null for an
   * abandoned run, which has none (it neither finished nor still runs).
   */
  durationMs: number | null;
  counts: RunCounts;
  /** The Git commit read (desired runs) or pushed (publish runs). */
  commit: string | null;
  /** Why the run failed or was partial; null when it completed. */
  errorMessage: string | null;
  /** Per-object problems the run kept. */
  errors: ObjectError[];
  /** For a run still `in_progress`: whether it is (see RunProgress); null once finished. */
  progress: RunProgress | null;
}

export async function fabricRuns(
  em: EntityManager,
  fabric: HedgehogFabric,
  filter: RunFilter,
  context: { embedded: boolean } & ReadOptions,
): Promise<RunRecord[]> {
  const rows = await selectRuns(em, fabric.id, {
    limit: filter.limit ?? 20,
    types: filter.type,
    statuses: filter.status,
  });
  const progress = rows.some((r) => r.status === 'in_progress')
    ? await progressJudge(em, fabric.id, context)
    : () => null;
  return rows.map((r) => runRecord(r, progress(r)));
}

function runRecord(r: RunRow, progress: RunProgress | null): RunRecord {
  const startedAt = new Date(r.started_at);
  const finishedAt = r.finished_at ? new Date(r.finished_at) : null;
  const end = finishedAt ?? new Date(r.db_now);
  return {
    id: r.id,
    type: r.type,
    status: r.status,
    startedAt,
    finishedAt,
    // A clock step between start and finish must not print a negative duration.
    durationMs: progress === 'abandoned' ? null : Math.max(0, end.getTime() - startedAt.getTime()),
    counts: {
      listed: r.listed,
      created: r.created,
      updated: r.updated,
      unchanged: r.unchanged,
      cleared: r.cleared,
      failed: r.failed,
    },
    commit: r.commit_sha,
    errorMessage: r.error_message,
    errors: Array.isArray(r.errors) ? r.errors : [],
    progress,
  };
}

/** How to judge the fabric's runs still `in_progress`, from who holds its lock and lease right now. */
async function progressJudge(
  em: EntityManager,
  fabricId: number,
  context: { embedded: boolean } & ReadOptions,
): Promise<(r: RunRow) => RunProgress | null> {
  const lock = await selectRunLockState(em, fabricId);
  const lease = context.embedded ? undefined : leaseState(await selectWatchLeaseHolder(em, fabricId), context);
  const abandonAfterMs = (context.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS) + 5000;
  return (r) => {
    if (r.status !== 'in_progress') return null;
    if (r.type === 'watch') {
      // A watch window is open only while its replica holds the lease; a lease expired means a frozen holder.
      if (!lease) return 'unknown';
      return lease.state === 'held' ? 'running' : 'abandoned';
    }
    if (lock.held && lock.newest_in_progress === r.id) return 'running';
    const age = new Date(r.db_now).getTime() - new Date(r.started_at).getTime();
    return age <= abandonAfterMs ? 'running' : 'abandoned';
  };
}

// ---------------------------------------------------------------- watch lease

/**
 * Who holds the fabric's watch lease: `none` (no watch holds it), `held` (a replica renewing it), `expired` (a
 * replica holds the lock but stopped renewing for longer than the lease period: frozen or cut off; another replica
 * may take over), `unknown` (the embedded ledger: leases live in the watch's own process, invisible from here).
 */
export type WatchLeaseState =
  | { state: 'none' }
  | { state: 'unknown'; reason: string }
  | {
      state: 'held' | 'expired';
      /** The replica group (`hh-sync-watch:<hash>`: replicas watching the same fabric list). */
      group: string;
      /** The lease connection's backend pid on the database server. */
      pid: number;
      /** Where the holder connects from (client host name or address; `local` for a Unix socket). */
      host: string;
      /** When the holder's lease session started; null when its session is another role's, hidden from this one. */
      since: Date | null;
      /** The holder's last renewal (database clock); null when it has written none. */
      renewedAt: Date | null;
      /** renewedAt + the lease period: after this the lease is expired. */
      expiresAt: Date | null;
    };

function leaseState(row: WatchLeaseRow | null, options: ReadOptions): Exclude<WatchLeaseState, { state: 'unknown' }> {
  if (!row) return { state: 'none' };
  const period = options.leasePeriodMs ?? DEFAULT_WATCH_LEASE_PERIOD_MS;
  const renewed = row.heartbeat_ms === null ? null : Number(row.heartbeat_ms);
  const parts = row.application_name.split(':');
  return {
    state: renewed !== null && Number(row.now_ms) - renewed <= period ? 'held' : 'expired',
    group: parts.slice(0, Math.max(1, parts.length - 2)).join(':'),
    pid: row.pid,
    host: row.client_hostname ?? row.client_addr ?? 'local',
    since: row.backend_start === null ? null : new Date(row.backend_start),
    renewedAt: renewed === null ? null : new Date(renewed),
    expiresAt: renewed === null ? null : new Date(renewed + period),
  };
}

export async function watchLease(
  em: EntityManager,
  fabricId: number,
  context: { embedded: boolean } & ReadOptions,
): Promise<WatchLeaseState> {
  if (context.embedded)
    return { state: 'unknown', reason: "the embedded ledger's watch leases live in the watch's own process" };
  return leaseState(await selectWatchLeaseHolder(em, fabricId), context);
}

// ---------------------------------------------------------------- fabric overview

export interface FabricOverview {
  fabric: HedgehogFabric;
  /** The latest runs, newest first (5 unless asked otherwise). */
  lastRuns: RunRecord[];
  drift: DriftReport['summary'];
  lease: WatchLeaseState;
  /** How many rows the fabric owns in each table (what `fabric remove` deletes). */
  rows: FabricRows;
}

export interface FabricRows {
  objects: number;
  runs: number;
  /** state_transition rows, those of deleted objects (detached history) included. */
  transitions: number;
  crdSchemas: number;
}

export async function fabricOverview(
  em: EntityManager,
  fabric: HedgehogFabric,
  context: { embedded: boolean; runs?: number } & ReadOptions,
): Promise<FabricOverview> {
  const lastRuns = await fabricRuns(em, fabric, { limit: context.runs ?? 5 }, context);
  const drift = await driftSummary(em, fabric.id);
  const lease = await watchLease(em, fabric.id, context);
  return { fabric, lastRuns, drift, lease, rows: await fabricRows(em, fabric.id) };
}

export async function fabricRows(em: EntityManager, fabricId: number): Promise<FabricRows> {
  const c = await countFabricRows(em, fabricId);
  return { objects: c.objects, runs: c.runs, transitions: c.transitions, crdSchemas: c.crd_schemas };
}

// ---------------------------------------------------------------- history

export interface ObjectHistoryEntry extends ResourceHistoryEntry {
  /** The type of the run that recorded it (null: no run, or the run was pruned). */
  runType: SyncOperationType | null;
  /** The Git commit of that run (desired and publish runs), else null. */
  commit: string | null;
}

export interface ObjectHistory {
  kind: string;
  namespace: string;
  name: string;
  /** The object has a ledger row now (false: it was deleted, or never held). */
  present: boolean;
  /** Oldest first; earlier incarnations (deleted, then recreated) included. */
  entries: ObjectHistoryEntry[];
}

export async function objectHistory(
  em: EntityManager,
  fabric: HedgehogFabric,
  object: ResourceIdentity,
): Promise<ObjectHistory> {
  const namespace = object.namespace ?? 'default';
  const entries = (await selectResourceHistory(em, fabric.id, object.kind, namespace, object.name)).map((r) => ({
    ...r,
    at: new Date(r.at),
  }));
  const runs = new Map(
    (await selectRunsByIds(em, [...new Set(entries.flatMap((e) => (e.runId === null ? [] : [e.runId])))])).map((r) => [
      r.id,
      r,
    ]),
  );
  return {
    kind: object.kind,
    namespace,
    name: object.name,
    present: entries.length > 0 && entries[entries.length - 1]!.resourceId !== null,
    entries: entries.map((e) => {
      const run = e.runId === null ? undefined : runs.get(e.runId);
      return { ...e, runType: run?.type ?? null, commit: run?.commit_sha ?? null };
    }),
  };
}

// ---------------------------------------------------------------- objects

export interface ObjectFilter {
  kind?: string;
  name?: string;
  /** Only these namespaces (default all). */
  namespaces?: readonly string[];
}

export interface LedgerObject {
  kind: string;
  namespace: string;
  name: string;
  apiVersion: string | null;
  state: ResourceState;
  /** Git's side: null spec when Git does not declare the object. */
  desired: {
    spec: Record<string, unknown> | null;
    commit: string | null;
    file: string | null;
    /** The document's first line in `file`, as recorded when its content last changed; null when not recorded. */
    line: number | null;
    updatedAt: Date | null;
  };
  /** The cluster's side: null spec when the cluster does not have the object. */
  actual: {
    spec: Record<string, unknown> | null;
    status: Record<string, unknown> | null;
    resourceVersion: string | null;
    uid: string | null;
    updatedAt: Date | null;
  };
  drift: {
    /** null = never compared (e.g. a draft). */
    status: DriftStatus | null;
    severity: DriftSeverity;
    score: number;
    differences: DriftOp[];
    /** Fields only the cluster has (server defaults, status-like additions), not counted as drift. */
    extras: DriftOp[];
    checkedAt: Date | null;
  };
  /** A draft waiting to be published (`apply` or `delete`), or null. */
  draft: DraftOperation | null;
  /** Why the object's latest cluster version was refused (its row is then stale); null when it was not. */
  lastSyncError: string | null;
  firstSeen: Date | null;
  lastUpdated: Date;
}

export async function ledgerObjects(
  em: EntityManager,
  fabric: HedgehogFabric,
  filter: ObjectFilter,
): Promise<LedgerObject[]> {
  return (await selectObjects(em, fabric.id, filter)).map(ledgerObject);
}

const date = (d: Date | string | null): Date | null => (d === null ? null : new Date(d));

function ledgerObject(r: ObjectRow): LedgerObject {
  return {
    kind: r.kind,
    namespace: r.namespace,
    name: r.name,
    apiVersion: r.api_version,
    state: r.resource_state,
    desired: {
      spec: r.desired_spec,
      commit: r.desired_commit,
      file: r.desired_file_path,
      line: r.desired_line,
      updatedAt: date(r.desired_updated),
    },
    actual: {
      spec: r.actual_spec,
      status: r.actual_status,
      resourceVersion: r.actual_resource_version,
      uid: r.actual_uid,
      updatedAt: date(r.actual_updated),
    },
    drift: {
      status: r.drift_status,
      severity: r.drift_severity,
      score: r.drift_score,
      differences: r.drift_details?.differences ?? [],
      extras: r.drift_details?.extras ?? [],
      checkedAt: date(r.last_drift_check),
    },
    draft: r.draft_operation as DraftOperation | null,
    lastSyncError: r.last_sync_error,
    firstSeen: date(r.first_seen),
    lastUpdated: new Date(r.last_updated),
  };
}
