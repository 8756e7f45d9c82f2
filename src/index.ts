/**
 * The public API of `hedgehog-fabric-sync`: what a host service needs to keep a fabric's ledger. An explicit list
 * (no `export *`), so adding or removing a name is a deliberate change: test/public-api.test.ts snapshots it.
 * Source-level tools are public under subpaths (`hedgehog-fabric-sync/drift`, `/kube`, `/gitops`, `/crds`, `/db`,
 * `/testing`; see package.json `exports`); everything else is internal. The CLI imports modules directly.
 */

// Opening a ledger: the one call most hosts need.
export { openLedger, type Ledger, type LedgerOptions } from './ledger.js';

// The sync service (also usable on a host's own EntityManager) and its events.
export {
  FabricSyncService,
  type FabricSyncServiceOptions,
  type FabricRef,
  type ResourceEvent,
  type SyncServiceEvents,
} from './sync/fabric-sync-service.js';
export type { ResourceChange } from './sync/write-plan.js';
export type { Logger } from './sync/logger.js';
// Where a run reads from: the seams a host may fill with its own sources (defaults: the cluster and Git readers).
export type { ActualSource, ActualSourceFactory, DesiredSource } from './sync/sources.js';

// Fabric management.
export { FabricRegistry, type FabricSettings, type RemovedFabricRows } from './fabrics/fabric-registry.js';

// Write-back: drafts prepared in the ledger, published to Git (`ledger.drafts`, `ledger.publish`).
export {
  Drafts,
  DraftRefusedError,
  type Draft,
  type DraftKey,
  type DraftInput,
  type DraftCallOptions,
  type DraftCallResult,
  type DraftConflictDetails,
  type DraftConflictPath,
} from './drafts/drafts.js';
export type { DraftChange, DraftOutcome } from './drafts/draft-plan.js';
export {
  PublishRejectedError,
  PublishNotRecordedError,
  type PublishOptions,
  type PublishReport,
  type PublishedEntry,
} from './writeback/publish.js';
export type { LeftOutObject } from './writeback/publish-plan.js';
export type { ConflictStrategy } from './writeback/rebase-draft.js';
export type { ExternalModification } from './writeback/external-modifications.js';

// Continuous mode (`hh-sync watch` from code).
export {
  startWatch,
  type WatchTarget,
  type WatchOptions,
  type WatchHandle,
  type WatchEvents,
  type ReleaseReason,
} from './watch/watch-supervisor.js';

// Reports: runs, drift, read-only diffs, the history of one object, the schema doctor.
export type { SyncRunReport, RunCounts, RunStatus, RunType } from './sync/run-recorder.js';
export type { RunDetails, RunFailure, RecreatedObject, RunOutage } from './sync/run-details.js';
export type { ObjectError } from './observations.js';
export type { TransitionContext } from './sync/transitions.js';
export type { DriftReport, DriftReportFilter, DriftedResource, UnreadableResource } from './sync/drift-report.js';
export {
  DiffInputError,
  NoActualStateError,
  type FabricDiffOptions,
  type FabricDiffReport,
  type DiffDesiredSource,
  type DiffActualSource,
  type RefusedEntry,
} from './sync/fabric-diff.js';
export type { DiffOperation, DiffedObject, DiffSummary, NotCompared } from './sync/diff-sides.js';
export { resourceHistory, type ResourceHistoryEntry, type ResourceIdentity } from './sync/history.js';
export type { DoctorReport, DoctorFinding, SchemaDoctorOptions } from './db/schema-doctor.js';
// What `ledger.runs`, `ledger.history`, `ledger.objects` and `ledger.fabricOverview` return.
export type {
  RunRecord,
  RunFilter,
  RunProgress,
  ObjectHistory,
  ObjectHistoryEntry,
  LedgerObject,
  ObjectFilter,
  FabricOverview,
  FabricRows,
  WatchLeaseState,
  ReadOptions,
} from './reads/ledger-reads.js';

// The ledger's entities and migrations (also for a host that brings its own MikroORM setup).
export {
  HedgehogFabric,
  type IgnoreRule,
  type KindCount,
  type FabricDriftSummary,
} from './entities/hedgehog-fabric.js';
export { HedgehogResource } from './entities/hedgehog-resource.js';
export { SyncOperation } from './entities/sync-operation.js';
export { StateTransition } from './entities/state-transition.js';
export { FabricCrdSchema } from './entities/fabric-crd-schema.js';
export { ALL_ENTITIES } from './entities/index.js';
export { MIGRATIONS } from './db/migrations-list.js';

// The closed vocabularies of the ledger's columns: the lists a host filters or validates with, and every union type.
export {
  DRIFT_STATUSES,
  DRIFT_SEVERITIES,
  RESOURCE_STATES,
  type FabricStatus,
  type ConnectionStatus,
  type FabricSyncStatus,
  type ResourceState,
  type TransitionState,
  type DriftStatus,
  type DriftSeverity,
  type SyncDirection,
  type ResourceSyncDirection,
  type DraftOperation,
  type ConflictStatus,
  type SyncOperationType,
  type SyncOperationStatus,
  type TransitionTrigger,
} from './entities/enums.js';

// Every error a host may catch (thrown by a call, or handed to an `error` event / a failed run).
export { FabricNotFoundError, ClusterUnreachableError } from './sync/sync-errors.js';
export { FabricBusyError } from './sync/fabric-lock.js';
export { FabricExistsError, InvalidFabricSettingsError } from './fabrics/fabric-registry.js';
export { EntityValidationError } from './entities/validation.js';
export { LedgerSchemaUnhealthyError } from './db/schema-preflight.js';
export { DatabaseMissingError, DatabaseUnavailableError } from './db/database-probe.js';
export { DoctorScopeError } from './db/doctor-scope.js';
export { KubeConfigError } from './kube/kube-config.js';
export { KubeAuthError, KubeRequestError } from './kube/kube-errors.js';
export { MalformedResponseError } from './kube/cluster-reader.js';
export { DesiredSourceError } from './gitops/source-error.js';
export { CrdLoadError } from './crds/crd-schemas.js';
export { LeaseLostError } from './watch/watch-writer.js';
