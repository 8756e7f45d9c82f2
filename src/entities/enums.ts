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

/**
 * Which way changes may flow between the ledger and Git, per fabric (a resource may override it):
 * `git_to_ledger` reads Git only (drafts are refused), `ledger_to_git` and `bidirectional` accept drafts and publish them.
 * (`bidirectional` also merges external Git edits into pending drafts; `ledger_to_git` does the same — Git stays the
 * source of truth — the difference is intent, shown to users, and a place for a stricter policy later.)
 */
export const SYNC_DIRECTIONS = ['git_to_ledger', 'ledger_to_git', 'bidirectional'] as const;
export type SyncDirection = (typeof SYNC_DIRECTIONS)[number];

/** A resource's own setting: `inherit` follows its fabric's `sync_direction`; anything else overrides it. */
export const RESOURCE_SYNC_DIRECTIONS = ['inherit', ...SYNC_DIRECTIONS] as const;
export type ResourceSyncDirection = (typeof RESOURCE_SYNC_DIRECTIONS)[number];

/** What a draft asks of Git: put the object as drafted, or remove it. */
export const DRAFT_OPERATIONS = ['apply', 'delete'] as const;
export type DraftOperation = (typeof DRAFT_OPERATIONS)[number];

export const CONFLICT_STATUSES = ['none', 'detected', 'resolving', 'resolved'] as const;
export type ConflictStatus = (typeof CONFLICT_STATUSES)[number];

export const SYNC_OPERATION_TYPES = ['actual', 'desired', 'watch', 'publish'] as const;
export type SyncOperationType = (typeof SYNC_OPERATION_TYPES)[number];

export const SYNC_OPERATION_STATUSES = ['pending', 'in_progress', 'completed', 'partial', 'failed'] as const;
export type SyncOperationStatus = (typeof SYNC_OPERATION_STATUSES)[number];

export const TRANSITION_TRIGGERS = [
  'sync_actual',
  'sync_desired',
  'watch',
  'manual',
  'sync',
  'draft',
  'publish',
] as const;
export type TransitionTrigger = (typeof TRANSITION_TRIGGERS)[number];
