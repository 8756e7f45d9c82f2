/**
 * The `hedgehog_fabric` rows as plain records, read with SQL rather than through the ORM: for `hh-sync fabric
 * list` and `drift`, which skip MikroORM on an up-to-date PostgreSQL ledger (docs/benchmarks.md, "CLI latency").
 * A record has every property of the entity with the value the ORM would give it (pg parses the types the same
 * way: timestamptz → Date, jsonb → objects, integer → number). FABRIC_COLUMNS must name every property:
 * the compiler checks the keys, test/cli-pg-reads.test.ts the column names against the entity metadata and the
 * printed output against the ORM path's.
 */
import type { HedgehogFabric } from '../entities/index.js';
import { ident, query, type SqlTarget } from './sql.js';

/** A fabric's row with the entity's property names and types (no ORM behind it). */
export type FabricRecord = Pick<HedgehogFabric, keyof HedgehogFabric>;

/** Every property of the entity → its column. */
export const FABRIC_COLUMNS = {
  id: 'id',
  name: 'name',
  description: 'description',
  status: 'status',
  connectionStatus: 'connection_status',
  syncStatus: 'sync_status',
  kubeconfigPath: 'kubeconfig_path',
  kubeContext: 'kube_context',
  inCluster: 'in_cluster',
  apiServerUrl: 'api_server_url',
  namespaces: 'namespaces',
  gitRepository: 'git_repository',
  gitRef: 'git_ref',
  gitPath: 'git_path',
  crdDirectory: 'crd_directory',
  ignoreRules: 'ignore_rules',
  syncDirection: 'sync_direction',
  managedFileTemplate: 'managed_file_template',
  syncEnabled: 'sync_enabled',
  syncIntervalSeconds: 'sync_interval_seconds',
  lastSync: 'last_sync',
  lastActualSync: 'last_actual_sync',
  lastDesiredSync: 'last_desired_sync',
  lastSyncError: 'last_sync_error',
  desiredCommit: 'desired_commit',
  driftSummary: 'drift_summary',
  driftedCount: 'drifted_count',
  inSyncCount: 'in_sync_count',
  kindCounts: 'kind_counts',
  created: 'created',
  lastUpdated: 'last_updated',
} as const satisfies Record<keyof FabricRecord, string>;

const SELECT_FABRIC = `SELECT ${Object.entries(FABRIC_COLUMNS)
  .map(([property, column]) => `${ident(column)} AS "${property}"`)
  .join(', ')} FROM hedgehog_fabric`;

/** Every fabric, by name (as FabricRegistry.list orders them). */
export function selectFabrics(db: SqlTarget): Promise<FabricRecord[]> {
  return query<FabricRecord>(db, `${SELECT_FABRIC} ORDER BY name`);
}

/** The fabric named `name`; undefined when there is none. */
export async function selectFabricByName(db: SqlTarget, name: string): Promise<FabricRecord | undefined> {
  return (await query<FabricRecord>(db, `${SELECT_FABRIC} WHERE name = ?`, [name]))[0];
}
