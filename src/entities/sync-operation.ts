import {
  BeforeCreate,
  BeforeUpdate,
  Check,
  Entity,
  Enum,
  Index,
  ManyToOne,
  PrimaryKey,
  Property,
  type Opt,
  type Rel,
} from '@mikro-orm/core';
import { IsArray, IsIn, IsInt, IsObject, IsOptional, IsString, Min } from 'class-validator';
import type { ObjectError } from '../observations.js';
import type { RunDetails } from '../sync/run-details.js';
import {
  SYNC_OPERATION_STATUSES,
  SYNC_OPERATION_TYPES,
  type SyncOperationStatus,
  type SyncOperationType,
} from './enums.js';
import { HedgehogFabric } from './hedgehog-fabric.js';
import { assertValid } from './validation.js';

/** One row per sync run: what was read, what changed, what failed and why. */
@Entity({ tableName: 'sync_operation' })
@Index({ name: 'sync_operation_fabric_started_at_index', properties: ['fabric', 'startedAt'] })
export class SyncOperation {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  @ManyToOne({ entity: () => HedgehogFabric, deleteRule: 'cascade', updateRule: 'cascade' })
  fabric!: Rel<HedgehogFabric>;

  @Enum({ items: [...SYNC_OPERATION_TYPES], type: 'text', default: 'actual' })
  @IsIn(SYNC_OPERATION_TYPES)
  type: Opt<SyncOperationType> = 'actual';

  @Enum({ items: [...SYNC_OPERATION_STATUSES], type: 'text', default: 'pending' })
  @IsIn(SYNC_OPERATION_STATUSES)
  status: Opt<SyncOperationStatus> = 'pending';

  @Property({ type: 'datetime', columnType: 'timestamptz', defaultRaw: 'now()' })
  startedAt: Opt<Date> = new Date();

  /** null = still running (or died before finishing). */
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  @IsOptional()
  finishedAt: Date | null = null;

  @Property({ type: 'integer', default: 0 })
  @Check({ name: 'sync_operation_listed_check', expression: 'listed >= 0' })
  @IsInt()
  @Min(0)
  listed: Opt<number> = 0;

  @Property({ type: 'integer', default: 0 })
  @Check({ name: 'sync_operation_created_check', expression: 'created >= 0' })
  @IsInt()
  @Min(0)
  created: Opt<number> = 0;

  @Property({ type: 'integer', default: 0 })
  @Check({ name: 'sync_operation_updated_check', expression: 'updated >= 0' })
  @IsInt()
  @Min(0)
  updated: Opt<number> = 0;

  @Property({ type: 'integer', default: 0 })
  @Check({ name: 'sync_operation_unchanged_check', expression: 'unchanged >= 0' })
  @IsInt()
  @Min(0)
  unchanged: Opt<number> = 0;

  @Property({ type: 'integer', default: 0 })
  @Check({ name: 'sync_operation_cleared_check', expression: 'cleared >= 0' })
  @IsInt()
  @Min(0)
  cleared: Opt<number> = 0;

  @Property({ type: 'integer', default: 0 })
  @Check({ name: 'sync_operation_failed_check', expression: 'failed >= 0' })
  @IsInt()
  @Min(0)
  failed: Opt<number> = 0;

  /** Commit the desired state was read from (desired runs only). */
  @Property({ type: 'text', nullable: true })
  @IsOptional()
  @IsString()
  commitSha: string | null = null;

  /** Why the run as a whole failed; null when it did not. */
  @Property({ type: 'text', nullable: true })
  @IsOptional()
  @IsString()
  errorMessage: string | null = null;

  /** Per-object problems: { kind, namespace, name, file, line, reason }. */
  @Property({ type: 'json', columnType: 'jsonb', default: '[]' })
  @IsArray()
  errors: Opt<ObjectError[]> = [];

  /** Fabric kinds the run could not read (e.g. CRD not installed), with no data lost for them. */
  @Property({ type: 'json', columnType: 'jsonb', default: '[]' })
  @IsArray()
  skippedKinds: Opt<string[]> = [];

  /** Objects of kinds outside the fabric catalog, counted per kind. */
  @Property({ type: 'json', columnType: 'jsonb', default: '{}' })
  @IsObject()
  otherKinds: Opt<Record<string, number>> = {};

  @Property({ type: 'json', columnType: 'jsonb', default: '{}' })
  @IsObject()
  details: Opt<RunDetails> = {};

  @BeforeCreate()
  protected validateBeforeCreate(): void {
    assertValid(this);
  }

  @BeforeUpdate()
  protected validateBeforeUpdate(): void {
    assertValid(this, true);
  }
}
