/**
 * The closed vocabularies of the ledger. Each list is the single source for the
 * entity's check constraint, its class-validator rule and the TypeScript type.
 */

export const FABRIC_STATUSES = ['planned', 'active', 'maintenance', 'decommissioned'] as const;
export type FabricStatus = (typeof FABRIC_STATUSES)[number];

export const CONNECTION_STATUSES = ['unknown', 'connected', 'disconnected', 'error'] as const;
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];

export const FABRIC_SYNC_STATUSES = ['never_synced', 'syncing', 'in_sync', 'out_of_sync', 'error'] as const;
export type FabricSyncStatus = (typeof FABRIC_SYNC_STATUSES)[number];

export const RESOURCE_STATES = ['draft', 'committed', 'pending', 'synced', 'drifted', 'orphaned'] as const;
export type ResourceState = (typeof RESOURCE_STATES)[number];

/** Where a state transition can go: a resource state, or `deleted` (the row left the ledger; its history stays). */
export const TRANSITION_STATES = [...RESOURCE_STATES, 'deleted'] as const;
export type TransitionState = (typeof TRANSITION_STATES)[number];

// The drift vocabulary belongs to the drift engine (it is pure and imports nothing from the ledger);
// the ledger's columns and checks take it from there.
export { DRIFT_STATUSES, DRIFT_SEVERITIES, type DriftStatus, type DriftSeverity } from '../drift/types.js';

export const SYNC_DIRECTIONS = ['gui_to_git', 'git_to_gui', 'bidirectional', 'disabled'] as const;
export type SyncDirection = (typeof SYNC_DIRECTIONS)[number];

export const CONFLICT_STATUSES = ['none', 'detected', 'resolving', 'resolved'] as const;
export type ConflictStatus = (typeof CONFLICT_STATUSES)[number];

export const SYNC_OPERATION_TYPES = ['actual', 'desired', 'watch'] as const;
export type SyncOperationType = (typeof SYNC_OPERATION_TYPES)[number];

export const SYNC_OPERATION_STATUSES = ['pending', 'in_progress', 'completed', 'partial', 'failed'] as const;
export type SyncOperationStatus = (typeof SYNC_OPERATION_STATUSES)[number];

export const TRANSITION_TRIGGERS = ['sync_actual', 'sync_desired', 'watch', 'manual', 'sync'] as const;
export type TransitionTrigger = (typeof TRANSITION_TRIGGERS)[number];
