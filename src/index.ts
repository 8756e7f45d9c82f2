export * from "./kube/catalog.js";
export * from "./entities/index.js";
export * from "./db/index.js";
export * from "./kube/index.js";
// Drift engine (statuses, severities and IgnoreRule come with the entities above).
export {
  computeDrift,
  normalizeSide,
  normalizeValue,
  canonicalJson,
  summarizeDrift,
  severityFor,
  touchesCriticalPath,
  ignoreRuleProblem,
  CRITICAL_PATHS,
  HIGH_SCORE_THRESHOLD,
  IGNORED_ANNOTATIONS,
  IGNORED_LABELS,
  ANNOTATION_DETAIL_LIMIT,
  type DriftInput,
  type DriftResult,
  type DriftOp,
  type SideState,
  type DriftSummary,
} from "./drift/index.js";
export * from "./crds/index.js";
export * from "./gitops/index.js";
// The ledger facade, sync service and fabric management.
export { openLedger, type Ledger, type LedgerOptions } from "./ledger.js";
export { FabricSyncService, FabricNotFoundError, type FabricSyncServiceOptions, type FabricRef, type ResourceEvent, type SyncServiceEvents } from "./sync/fabric-sync-service.js";
export { FabricBusyError } from "./sync/fabric-lock.js";
export type { SyncRunReport, RunCounts, RunStatus, RunType } from "./sync/run-recorder.js";
export type { DriftReport, DriftReportFilter, DriftedResource, UnreadableResource } from "./sync/drift-report.js";
export { resourceHistory, type ResourceHistoryEntry, type ResourceIdentity } from "./sync/history.js";
export type { Logger } from "./sync/logger.js";
export { FabricRegistry, FabricExistsError, InvalidFabricSettingsError, type FabricSettings } from "./fabrics/fabric-registry.js";
export type { ActualObservation, DesiredObservation, ObjectError, ResourceKey } from "./observations.js";
// Continuous mode (`hh-sync watch`): startWatch for hosts, runWatchCommand for the CLI.
export {
  startWatch,
  runWatchCommand,
  LOCK_NAMESPACE_WATCH,
  LeaseLostError,
  WatchMetrics,
  type WatchTarget,
  type WatchOptions,
  type WatchHandle,
  type WatchEvents,
  type WatchCommandOptions,
  type FabricWatchOptions,
  type AppliedWrite,
  type ReleaseReason,
} from "./watch/index.js";
