import {
  BeforeCreate,
  BeforeUpdate,
  Entity,
  Enum,
  Index,
  ManyToOne,
  PrimaryKey,
  Property,
  type Opt,
  type Rel,
} from '@mikro-orm/core';
import { IsIn, IsObject, IsOptional, IsString } from 'class-validator';
import {
  RESOURCE_STATES,
  TRANSITION_STATES,
  TRANSITION_TRIGGERS,
  type ResourceState,
  type TransitionState,
  type TransitionTrigger,
} from './enums.js';
import { HedgehogResource } from './hedgehog-resource.js';
import { assertValid } from './validation.js';

/**
 * What a transition's `context` holds (`state_transition.context`, jsonb): empty, except for an object deleted and
 * recreated in the cluster between two reads, whose transition names both uids. A type alias: it is stored as a record.
 */
export type TransitionContext = { oldUid?: string; newUid?: string };

/**
 * History of `hedgehog_resource.resource_state`: one row per change, and one (`to_state` = `deleted`) when the
 * resource row is deleted. The history outlives the row: the foreign key becomes null and the row's identity
 * (kind/namespace/name) is copied onto its history, so "when did X disappear, in which run?" keeps an answer.
 */
@Entity({ tableName: 'state_transition' })
// One index serves every read and the deletion's detach: a fabric's history (count, removal) by its prefix, a
// resource's (fabric, resource) in time order. Two indexes, (fabric) and (resource, timestamp), cost each history
// row a second index insert: the (fabric) one alone was 7–13 % of the history insert (docs/benchmarks.md, sixth slice).
@Index({
  name: 'state_transition_fabric_resource_timestamp_index',
  properties: ['fabricId', 'resource', 'timestamp'],
})
// Only detached history (its resource deleted) is looked up by identity; live history goes through resource_id.
@Index({
  name: 'state_transition_detached_identity_index',
  expression:
    'create index "state_transition_detached_identity_index" on "state_transition" ("fabric_id", "kind", "namespace", "name", "timestamp") where "resource_id" is null',
})
export class StateTransition {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  /**
   * null = the resource row was deleted; `kind`/`namespace`/`name` then say which object this was. No foreign key:
   * its check on every history row was ~40 % of the history insert (a first sync writes one per object). The one
   * statement that deletes resource rows detaches their history itself, before the delete (recordResourceDeletions),
   * and removing a fabric deletes its history first; ids are never reused, so a row deleted by hand leaves history
   * that names no other object.
   */
  @ManyToOne({ entity: () => HedgehogResource, nullable: true, createForeignKeyConstraint: false })
  @IsOptional()
  resource: Rel<HedgehogResource> | null = null;

  /**
   * Denormalised from the resource so a fabric's history is one indexed query (the leading column of the index
   * above). A plain column, not a foreign key: a second key check on every history row cost the bulk writer ~7 %
   * (docs/benchmarks.md). Removing a fabric deletes its history explicitly (FabricRegistry.remove).
   */
  @Property({ type: 'integer' })
  fabricId!: number;

  /**
   * The resource's identity, written when its row is deleted (copied onto all its history then); null while
   * the row exists (`resource` says which object it is). Not written on every transition: the bulk writer
   * would carry three more columns per history row for the rare deletion.
   */
  @Property({ type: 'text', nullable: true })
  @IsOptional()
  @IsString()
  kind: string | null = null;

  @Property({ type: 'text', nullable: true })
  @IsOptional()
  @IsString()
  namespace: string | null = null;

  @Property({ type: 'text', nullable: true })
  @IsOptional()
  @IsString()
  name: string | null = null;

  /**
   * The run (sync_operation.id) that recorded the transition: a sync run, or the watch's open run window.
   * null = no run (a manual change, or history older than this column). A plain column: runs are pruned independently.
   */
  @Property({ type: 'integer', nullable: true })
  @IsOptional()
  syncOperationId: number | null = null;

  /** null = the row was created in `toState` (no earlier state). */
  @Enum({ items: [...RESOURCE_STATES], type: 'text', nullable: true })
  @IsOptional()
  @IsIn(RESOURCE_STATES)
  fromState: ResourceState | null = null;

  /** Required: a transition is defined by where it goes (`deleted`: the row left the ledger). */
  @Enum({ items: [...TRANSITION_STATES], type: 'text' })
  @IsIn(TRANSITION_STATES)
  toState!: TransitionState;

  @Enum({ items: [...TRANSITION_TRIGGERS], type: 'text', default: 'sync' })
  @IsIn(TRANSITION_TRIGGERS)
  trigger: Opt<TransitionTrigger> = 'sync';

  @Property({ type: 'text', default: '' })
  @IsString()
  reason: Opt<string> = '';

  @Property({ type: 'json', columnType: 'jsonb', default: '{}' })
  @IsObject()
  context: Opt<TransitionContext> = {};

  @Property({ type: 'datetime', columnType: 'timestamptz', defaultRaw: 'now()' })
  timestamp: Opt<Date> = new Date();

  @BeforeCreate()
  protected validateBeforeCreate(): void {
    assertValid(this);
  }

  @BeforeUpdate()
  protected validateBeforeUpdate(): void {
    assertValid(this, true);
  }
}
