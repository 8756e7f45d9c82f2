import 'reflect-metadata';
import { HedgehogFabric } from './hedgehog-fabric.js';
import { HedgehogResource } from './hedgehog-resource.js';
import { StateTransition } from './state-transition.js';
import { SyncOperation } from './sync-operation.js';
import { FabricCrdSchema } from './fabric-crd-schema.js';

export { HedgehogFabric, type IgnoreRule, type KindCount, type FabricDriftSummary } from './hedgehog-fabric.js';
export { HedgehogResource } from './hedgehog-resource.js';
export { SyncOperation } from './sync-operation.js';
export { StateTransition } from './state-transition.js';
export { FabricCrdSchema } from './fabric-crd-schema.js';
export {
  FABRIC_STATUSES,
  CONNECTION_STATUSES,
  FABRIC_SYNC_STATUSES,
  RESOURCE_STATES,
  TRANSITION_STATES,
  DRIFT_STATUSES,
  DRIFT_SEVERITIES,
  SYNC_DIRECTIONS,
  RESOURCE_SYNC_DIRECTIONS,
  DRAFT_OPERATIONS,
  CONFLICT_STATUSES,
  SYNC_OPERATION_TYPES,
  SYNC_OPERATION_STATUSES,
  TRANSITION_TRIGGERS,
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
} from './enums.js';
export {
  EntityValidationError,
  assertValid,
  validateEntity,
  type EntityViolation,
  DNS1123_LABEL,
  DNS1123_LABEL_MAX,
  DNS1123_SUBDOMAIN,
  DNS1123_SUBDOMAIN_MAX,
  KIND_PATTERN,
} from './validation.js';
export { IDENTITY_COLUMNS } from './identity.js';

/** Every entity of the ledger, in dependency order. */
export const ALL_ENTITIES = [
  HedgehogFabric,
  HedgehogResource,
  SyncOperation,
  StateTransition,
  FabricCrdSchema,
] as const;
