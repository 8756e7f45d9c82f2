/**
 * The history of one ledger object, deletions included: "when did Server/default/server-03-01 disappear,
 * and in which run?". A deleted object's rows are gone from `hedgehog_resource`, but its transitions stay
 * (detached: resource_id null, its identity copied onto them), ending in a `deleted` transition; an object
 * recreated later has a new row, whose history follows the old one.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { ResourceState, TransitionState, TransitionTrigger } from '../entities/enums.js';
import { fabricIdOf } from '../store/fabrics.js';
import { selectResourceHistory } from '../store/resource-reads.js';
import type { TransitionContext } from './transitions.js';
import { FabricNotFoundError } from './sync-errors.js';

export interface ResourceHistoryEntry {
  /** state_transition.id: orders entries recorded in the same instant. */
  id: number;
  at: Date;
  from: ResourceState | null;
  /** `deleted` = the object's ledger row was deleted (gone from both sides). */
  to: TransitionState;
  trigger: TransitionTrigger;
  reason: string;
  /** The sync run (sync_operation.id) that recorded it; null for watch writes and older history. */
  runId: number | null;
  /** The ledger row it belonged to; null once that row was deleted. */
  resourceId: number | null;
  context: TransitionContext;
}

export interface ResourceIdentity {
  kind: string;
  /** Default `default`, as in the ledger. */
  namespace?: string;
  name: string;
}

/**
 * Every transition of `Kind/namespace/name` in a fabric (by name or id), oldest first: the live row's history
 * (through resource_id, indexed) after that of any earlier incarnations that were deleted (by identity, on a
 * partial index of detached history). Empty when the ledger never held the object.
 */
export async function resourceHistory(
  em: EntityManager,
  fabric: string | number,
  object: ResourceIdentity,
): Promise<ResourceHistoryEntry[]> {
  const fabricId = await fabricIdOrThrow(em, fabric);
  const rows = await selectResourceHistory(em, fabricId, object.kind, object.namespace ?? 'default', object.name);
  return rows.map((r) => ({ ...r, at: new Date(r.at) }));
}

async function fabricIdOrThrow(em: EntityManager, fabric: string | number): Promise<number> {
  const id = await fabricIdOf(em, fabric);
  if (id === undefined) throw new FabricNotFoundError(fabric);
  return id;
}
