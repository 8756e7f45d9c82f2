/**
 * The fabric row's cached summaries (per-kind counts, drift counts), recomputed in SQL from the
 * ledger at the end of each run, inside the run's transaction.
 */
import type { EntityManager } from '@mikro-orm/core';
import { query } from './sql.js';

/**
 * The fabric's sync status from its refreshed summary, as one SQL expression for every writer: out of sync
 * when an object drifted, and also when an object's row is stale because its last version was refused
 * (drift_summary.unreadable) — "in_sync" is said only when it is true.
 */
export const FABRIC_SYNC_STATUS_SQL = `CASE WHEN drifted_count > 0 OR coalesce((drift_summary->>'unreadable')::int, 0) > 0 THEN 'out_of_sync' ELSE 'in_sync' END`;

export async function refreshFabricSummary(em: EntityManager, fabricId: number): Promise<void> {
  await query(
    em,
    `WITH r AS (SELECT kind, drift_status, drift_severity, actual_spec IS NOT NULL AS has_actual,
                       desired_spec IS NOT NULL AS has_desired, last_sync_error IS NOT NULL AS unreadable
                FROM hedgehog_resource WHERE fabric_id = ?),
          kinds AS (SELECT kind, jsonb_build_object('total', count(*), 'actual', count(*) FILTER (WHERE has_actual),
                                                    'desired', count(*) FILTER (WHERE has_desired)) AS c
                    FROM r GROUP BY kind),
          st AS (SELECT coalesce(drift_status, 'unchecked') AS k, count(*) AS c FROM r GROUP BY 1),
          sev AS (SELECT drift_severity AS k, count(*) AS c FROM r GROUP BY drift_severity)
     UPDATE hedgehog_fabric SET
       kind_counts = (SELECT coalesce(jsonb_object_agg(kind, c), '{}'::jsonb) FROM kinds),
       drift_summary = jsonb_build_object(
         'byStatus', (SELECT coalesce(jsonb_object_agg(k, c), '{}'::jsonb) FROM st),
         'bySeverity', (SELECT coalesce(jsonb_object_agg(k, c), '{}'::jsonb) FROM sev),
         'total', (SELECT count(*) FROM r),
         'unreadable', (SELECT count(*) FROM r WHERE unreadable)),
       drifted_count = (SELECT count(*) FROM r WHERE drift_status IS NOT NULL AND drift_status <> 'in_sync'),
       in_sync_count = (SELECT count(*) FROM r WHERE drift_status = 'in_sync'),
       last_updated = now()
     WHERE id = ?`,
    [fabricId, fabricId],
  );
}
