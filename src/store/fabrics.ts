/**
 * The `hedgehog_fabric` row's ledger-side columns: its cached summaries, its sync status, and what each run
 * records on it. Single-row updates go through MikroORM (typed against the entity); the summary, a set-based
 * aggregate over the fabric's resources, is SQL.
 */
import { raw, type EntityManager } from '@mikro-orm/core';
import type { FabricSyncStatus } from '../entities/enums.js';
import { HedgehogFabric } from '../entities/hedgehog-fabric.js';
import { StateTransition } from '../entities/state-transition.js';
import { query, queryBuilder } from './sql.js';

/**
 * The fabric's sync status from its refreshed summary, as one SQL expression for every writer: out of sync
 * when an object drifted, and also when an object's row is stale because its last version was refused
 * (drift_summary.unreadable) — "in_sync" is said only when it is true.
 */
export const FABRIC_SYNC_STATUS_SQL = `CASE WHEN drifted_count > 0 OR coalesce((drift_summary->>'unreadable')::int, 0) > 0 THEN 'out_of_sync' ELSE 'in_sync' END`;

/** FABRIC_SYNC_STATUS_SQL as the value of a MikroORM update: the status follows the summary in the same statement. */
// raw() returns a marker MikroORM recognizes in place of a value; it is typed as the column it computes.
const statusFromSummary = () => raw<HedgehogFabric, FabricSyncStatus>(FABRIC_SYNC_STATUS_SQL);

/**
 * Recompute the fabric's cached summaries (per-kind counts, drift counts) from its resource rows. One pass over the
 * rows: they are grouped once by kind, drift status and severity (a few dozen groups for any fabric size), and every
 * summary is summed from those groups — not one scan of the rows per figure.
 */
export async function refreshFabricSummary(em: EntityManager, fabricId: number): Promise<void> {
  await query(em, summaryUpdateSql(SUMMARY_GROUPS_OF_ROWS), [fabricId, fabricId]);
}

/**
 * Write the fabric's cached summaries from groups counted earlier in the same transaction (by loadActualIndexTexts,
 * with SUMMARY_GROUP_COUNTS_SQL). Only true while no row has been written since: see resourceRowWriteCount.
 */
export async function writeFabricSummary(
  em: EntityManager,
  fabricId: number,
  groups: readonly SummaryGroup[],
): Promise<void> {
  await query(em, summaryUpdateSql(SUMMARY_GROUPS_GIVEN), [JSON.stringify(groups), fabricId]);
}

/** A fabric's rows of one kind, drift status and severity, counted as the summary needs them. */
export interface SummaryGroup {
  kind: string;
  drift_status: string | null;
  drift_severity: string;
  n: number;
  actual: number;
  desired: number;
  unreadable: number;
}

/** How the summary groups a fabric's rows; a statement that counts them on the way groups them the same. */
export const SUMMARY_GROUP_KEYS_SQL = 'kind, drift_status, drift_severity';

/**
 * The counts of a SummaryGroup, as select-list items over `hedgehog_resource` grouped by SUMMARY_GROUP_KEYS_SQL: for
 * a statement that scans the rows anyway to count them on the way (the actual index load).
 */
export const SUMMARY_GROUP_COUNTS_SQL = `count(*)::int AS n,
  count(*) FILTER (WHERE actual_spec IS NOT NULL)::int AS actual,
  count(*) FILTER (WHERE desired_spec IS NOT NULL)::int AS desired,
  count(*) FILTER (WHERE last_sync_error IS NOT NULL)::int AS unreadable`;

const SUMMARY_GROUPS_OF_ROWS = `SELECT ${SUMMARY_GROUP_KEYS_SQL}, ${SUMMARY_GROUP_COUNTS_SQL}
             FROM hedgehog_resource WHERE fabric_id = ? GROUP BY ${SUMMARY_GROUP_KEYS_SQL}`;

const SUMMARY_GROUPS_GIVEN = `SELECT * FROM jsonb_to_recordset(?::jsonb)
               AS x(kind text, drift_status text, drift_severity text, n int, actual int, desired int, unreadable int)`;

/** The summary update, its groups from `groups` (a SELECT with one `?`, before the fabric id's). */
const summaryUpdateSql = (groups: string) => `
  WITH g AS (${groups}),
       kinds AS (SELECT kind, jsonb_build_object('total', sum(n)::bigint, 'actual', sum(actual)::bigint,
                                                 'desired', sum(desired)::bigint) AS c
                 FROM g GROUP BY kind),
       st AS (SELECT coalesce(drift_status, 'unchecked') AS k, sum(n)::bigint AS c FROM g GROUP BY 1),
       sev AS (SELECT drift_severity AS k, sum(n)::bigint AS c FROM g GROUP BY drift_severity),
       total AS (SELECT coalesce(sum(n), 0)::bigint AS n, coalesce(sum(unreadable), 0)::bigint AS unreadable,
                        coalesce(sum(n) FILTER (WHERE drift_status <> 'in_sync'), 0)::int AS drifted,
                        coalesce(sum(n) FILTER (WHERE drift_status = 'in_sync'), 0)::int AS in_sync
                 FROM g)
  UPDATE hedgehog_fabric SET
    kind_counts = (SELECT coalesce(jsonb_object_agg(kind, c), '{}'::jsonb) FROM kinds),
    drift_summary = jsonb_build_object(
      'byStatus', (SELECT coalesce(jsonb_object_agg(k, c), '{}'::jsonb) FROM st),
      'bySeverity', (SELECT coalesce(jsonb_object_agg(k, c), '{}'::jsonb) FROM sev),
      'total', total.n,
      'unreadable', total.unreadable),
    drifted_count = total.drifted,
    in_sync_count = total.in_sync,
    last_updated = now()
  FROM total
  WHERE id = ?`;

/**
 * PostgreSQL's count of `hedgehog_resource` rows this connection inserted, updated or deleted and has not yet
 * reported to its statistics; null when the server keeps no such counts (`track_counts` off). It holds the current
 * transaction's writes and may hold those of transactions shortly before (the server reports them at most once a
 * second, and only between transactions), so one reading says little; but within one transaction it only grows, and
 * by every row the transaction writes, rolled back to a savepoint or not. Two readings that are equal mean the
 * transaction wrote no such row between them.
 */
export async function resourceRowWriteCount(em: EntityManager): Promise<number | null> {
  const [row] = await query<{ n: string | null }>(em, RESOURCE_ROW_WRITE_COUNT_SQL);
  return row?.n == null ? null : Number(row.n);
}

const RESOURCE_ROW_WRITE_COUNT_SQL = `
  SELECT CASE WHEN current_setting('track_counts')::boolean
              THEN pg_stat_get_xact_tuples_inserted(t.oid) + pg_stat_get_xact_tuples_updated(t.oid)
                   + pg_stat_get_xact_tuples_deleted(t.oid) END AS n
    FROM (SELECT 'hedgehog_resource'::regclass::oid AS oid) t`;

/** After a complete actual read (refreshFabricSummary first): connected, synced at `at`, status from the summary. */
export async function markActualSynced(
  em: EntityManager,
  fabricId: number,
  at: Date,
  error: string | null,
): Promise<void> {
  await em.nativeUpdate(
    HedgehogFabric,
    { id: fabricId },
    {
      lastSync: at,
      lastActualSync: at,
      connectionStatus: 'connected',
      lastSyncError: error,
      syncStatus: statusFromSummary(),
    },
  );
}

/** After a desired read of `commit` (refreshFabricSummary first). */
export async function markDesiredSynced(
  em: EntityManager,
  fabricId: number,
  at: Date,
  commit: string | null,
): Promise<void> {
  await em.nativeUpdate(
    HedgehogFabric,
    { id: fabricId },
    { lastSync: at, lastDesiredSync: at, desiredCommit: commit, lastSyncError: null, syncStatus: statusFromSummary() },
  );
}

/**
 * After a watch write: connected; `current` = every kind was listed since the watch (re)started, so the actual
 * side is current as of `at`; `statusFromSummary` when the summary was refreshed in this transaction.
 */
export async function markWatchWritten(
  em: EntityManager,
  fabricId: number,
  at: Date,
  opts: { current: boolean; statusFromSummary: boolean },
): Promise<void> {
  await em.nativeUpdate(
    HedgehogFabric,
    { id: fabricId },
    {
      lastSync: at,
      connectionStatus: 'connected',
      lastSyncError: null,
      ...(opts.current ? { lastActualSync: at } : {}),
      ...(opts.statusFromSummary ? { syncStatus: statusFromSummary() } : {}),
    },
  );
}

/** The status again from the summary (after refreshFabricSummary). */
export async function refreshSyncStatus(em: EntityManager, fabricId: number): Promise<void> {
  await em.nativeUpdate(HedgehogFabric, { id: fabricId }, { syncStatus: statusFromSummary() });
}

/** A failed run: the fabric's error, and its connection in error too when the cluster was what failed. */
export async function markRunFailed(
  em: EntityManager,
  fabricId: number,
  message: string,
  clusterFault: boolean,
): Promise<void> {
  await em.nativeUpdate(
    HedgehogFabric,
    { id: fabricId },
    { lastSyncError: message, syncStatus: 'error', ...(clusterFault ? { connectionStatus: 'error' as const } : {}) },
  );
}

/** When the fabric's actual side was last read completely, in the caller's transaction; null when never. */
export async function lastActualSync(em: EntityManager, fabricId: number): Promise<Date | null> {
  const row = await queryBuilder(em, HedgehogFabric).select('lastActualSync').where({ id: fabricId }).execute('get');
  const t = (row as { lastActualSync?: Date | string | null } | undefined)?.lastActualSync;
  return t ? new Date(t) : null;
}

/** A fabric's id by id or name; undefined when there is no such fabric. */
export async function fabricIdOf(em: EntityManager, fabric: string | number): Promise<number | undefined> {
  const row = await queryBuilder(em, HedgehogFabric)
    .select('id')
    .where(typeof fabric === 'number' ? { id: fabric } : { name: fabric })
    .execute('get');
  return (row as { id?: number } | undefined)?.id;
}

/** Delete a fabric's history (before the fabric: the resource cascade would only detach it). */
export async function deleteFabricHistory(em: EntityManager, fabricId: number): Promise<void> {
  await em.nativeDelete(StateTransition, { fabricId });
}
