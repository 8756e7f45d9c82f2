import { BeforeCreate, BeforeUpdate, Entity, Enum, Index, ManyToOne, PrimaryKey, Property, type Opt, type Rel } from '@mikro-orm/core';
import { IsIn, IsObject, IsOptional, IsString } from 'class-validator';
import { RESOURCE_STATES, TRANSITION_TRIGGERS, type ResourceState, type TransitionTrigger } from './enums.js';
import { HedgehogResource } from './hedgehog-resource.js';
import { assertValid } from './validation.js';

/** History of `hedgehog_resource.resource_state`: one row per change. */
@Entity({ tableName: 'state_transition' })
@Index({ name: 'state_transition_resource_timestamp_index', properties: ['resource', 'timestamp'] })
export class StateTransition {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @ManyToOne({ entity: () => HedgehogResource, deleteRule: 'cascade', updateRule: 'cascade' })
  resource!: Rel<HedgehogResource>;

  /**
   * Denormalised from the resource so a fabric's history is one indexed query. A plain column, not a
   * foreign key: integrity (and cascade delete with the fabric) already flows through `resource`, and a
   * second key check on every history row cost the bulk writer ~7 % (docs/benchmarks.md).
   */
  @Property({ type: 'integer', index: 'state_transition_fabric_id_index' })
  fabricId!: number;

  /** null = the row was created in `toState` (no earlier state). */
  @Enum({ items: [...RESOURCE_STATES], type: 'text', nullable: true })
  @IsOptional()
  @IsIn(RESOURCE_STATES)
  fromState: ResourceState | null = null;

  /** Required: a transition is defined by where it goes. */
  @Enum({ items: [...RESOURCE_STATES], type: 'text' })
  @IsIn(RESOURCE_STATES)
  toState!: ResourceState;

  @Enum({ items: [...TRANSITION_TRIGGERS], type: 'text', default: 'sync' })
  @IsIn(TRANSITION_TRIGGERS)
  trigger: Opt<TransitionTrigger> = 'sync';

  @Property({ type: 'text', default: '' })
  @IsString()
  reason: Opt<string> = '';

  @Property({ type: 'json', columnType: 'jsonb', default: '{}' })
  @IsObject()
  context: Opt<Record<string, unknown>> = {};

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
