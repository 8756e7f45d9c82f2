/**
 * The ledger's SQL, in one place: one named function per statement or statement family, typed parameters and rows
 * (the way graphile/worker keeps src/sql/). Internal — not re-exported from the package root. The schema doctor's,
 * the migrations' and the catalog's SQL is src/db's own concern; the watch lease's session statements run on the
 * lease backend's private connection and stay in src/watch/lease-backend.ts.
 *
 * Values always travel as bound parameters (`query` in sql.ts). Single-row updates and reads of the fabric row go
 * through MikroORM (em.nativeUpdate / QueryBuilder, typed against the entities); the set-based statements — the
 * writer's batches, the loads, the summary, the reports — are SQL, where it is measured to matter
 * (docs/benchmarks.md).
 */
export { query, queryBuilder, intArray, encodeBatch, type EncodedBatch, type Row } from './sql.js';
export {
  ResourceBatchStatements,
  recordResourceDeletions,
  deleteResources,
  transitionsJson,
  isPlainCreation,
  type BatchCounts,
} from './resource-batches.js';
export {
  loadStoredResources,
  loadStoredResourcesByIds,
  loadActualIndex,
  loadActualIndexes,
  loadActualIndexForKeys,
  loadStoredResourcesForKeys,
  loadDraftedResources,
  type StoredResource,
  type ActualIndexEntry,
  type DesiredMetadata,
} from './stored-resources.js';
export {
  countResourcesByDrift,
  selectDriftedRows,
  selectUnreadableRows,
  markRefusedRows,
  countObjectsByKindAndDrift,
  selectResourceHistory,
} from './resource-reads.js';
export {
  insertRun,
  finishRun,
  closeAbandonedRuns,
  closeOrphanWatchRuns,
  lastCrdReadProblem,
  type RunOutcomeRow,
} from './runs.js';
export {
  FABRIC_SYNC_STATUS_SQL,
  refreshFabricSummary,
  writeFabricSummary,
  resourceRowWriteCount,
  type SummaryGroup,
  markActualSynced,
  markDesiredSynced,
  markWatchWritten,
  refreshSyncStatus,
  markRunFailed,
  lastActualSync,
  fabricIdOf,
  deleteFabricHistory,
} from './fabrics.js';
export { lockFabric, setTransactionSetting, LOCK_NAMESPACE } from './fabric-lock.js';
export { replaceCrdSchemas, selectCrdSchemas, type CrdSchemaRow } from './crd-schemas.js';
export { watchLeaseHeld, LOCK_NAMESPACE_WATCH } from './watch-lease.js';
export { ping, serverVersion, createSavepoint, rollbackToSavepoint, releaseSavepoint } from './database.js';
export { updateFileHashes } from './file-hashes.js';
