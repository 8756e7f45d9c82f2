import {
  BeforeCreate,
  BeforeUpdate,
  Check,
  Entity,
  Enum,
  Index,
  ManyToOne,
  OptionalProps,
  PrimaryKey,
  Property,
  Unique,
  type Opt,
  type Rel,
} from '@mikro-orm/core';
import {
  IsArray,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import {
  CONFLICT_STATUSES,
  DRAFT_OPERATIONS,
  RESOURCE_STATES,
  RESOURCE_SYNC_DIRECTIONS,
  type ConflictStatus,
  type DraftOperation,
  type ResourceState,
  type ResourceSyncDirection,
} from './enums.js';
import { DRIFT_SEVERITIES, DRIFT_STATUSES, type DriftSeverity, type DriftStatus } from '../drift/types.js';
import { HedgehogFabric } from './hedgehog-fabric.js';
import { DNS1123_LABEL, DNS1123_LABEL_MAX, DNS1123_SUBDOMAIN, DNS1123_SUBDOMAIN_MAX } from '../common/k8s-names.js';
import { KIND_PATTERN, assertValid } from './validation.js';

type JsonObject = Record<string, unknown>;

/**
 * The ledger row of one fabric object (VPC, Connection, Switch, …): its desired
 * state (Git), draft state (GUI), actual state (cluster), lifecycle, drift and
 * file-sync bookkeeping.
 *
 * Only the identity (fabric, kind, name) is required. Everything else is either
 * NOT NULL with the same TypeScript initializer and database default, or nullable
 * where "not seen yet / never happened" is the honest value — see docs/schema.md.
 */
@Entity({ tableName: 'hedgehog_resource' })
@Unique({ name: 'hedgehog_resource_identity_unique', properties: ['fabric', 'kind', 'namespace', 'name'] })
@Index({ name: 'hedgehog_resource_fabric_kind_index', properties: ['fabric', 'kind'] })
@Index({ name: 'hedgehog_resource_fabric_drift_status_index', properties: ['fabric', 'driftStatus'] })
@Index({ name: 'hedgehog_resource_fabric_managed_file_path_index', properties: ['fabric', 'managedFilePath'] })
export class HedgehogResource {
  /**
   * Nullable JSON objects MikroORM's typing cannot tell from "required nullable"
   * (an index-signature type matches its brand), so they are listed as optional here.
   */
  [OptionalProps]?:
    | 'desiredSpec'
    | 'previousDesiredSpec'
    | 'draftSpec'
    | 'draftMetadata'
    | 'draftBaseSpec'
    | 'actualSpec'
    | 'actualStatus';

  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  // --- Identity ---

  @ManyToOne({ entity: () => HedgehogFabric, deleteRule: 'cascade', updateRule: 'cascade' })
  fabric!: Rel<HedgehogFabric>;

  // The writer's set-based statements skip the validation hooks: the database holds the identity rules too.
  @Property({ type: 'text' })
  @Check({ name: 'hedgehog_resource_kind_check', expression: "kind ~ '^[A-Z][A-Za-z0-9]*$' and length(kind) <= 63" })
  @IsString()
  @IsNotEmpty()
  @MaxLength(63)
  @Matches(KIND_PATTERN, { message: 'kind must be an UpperCamelCase Kubernetes kind' })
  kind!: string;

  @Property({ type: 'text' })
  @Check({
    name: 'hedgehog_resource_name_check',
    // The same pattern as the entity hook below: one rule, enforced by the database for rows the writer inserts.
    expression: `name ~ '${DNS1123_SUBDOMAIN.source}' and length(name) <= ${DNS1123_SUBDOMAIN_MAX}`,
  })
  @IsString()
  @MaxLength(DNS1123_SUBDOMAIN_MAX)
  @Matches(DNS1123_SUBDOMAIN, { message: 'name must be a DNS-1123 subdomain (lowercase alphanumerics, "-" and ".")' })
  name!: string;

  @Property({ type: 'text', default: 'default' })
  @Check({
    name: 'hedgehog_resource_namespace_check',
    expression: `namespace ~ '${DNS1123_LABEL.source}' and length(namespace) <= ${DNS1123_LABEL_MAX}`,
  })
  @IsString()
  @MaxLength(DNS1123_LABEL_MAX)
  @Matches(DNS1123_LABEL, { message: 'namespace must be a DNS-1123 label (lowercase alphanumerics and "-")' })
  namespace: Opt<string> = 'default';

  /** e.g. vpc.githedgehog.com/v1beta1; null until either side has been seen. */
  @Property({ type: 'text', nullable: true })
  @Check({ name: 'hedgehog_resource_api_version_check', expression: "api_version <> ''" })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  apiVersion: string | null = null;

  // --- Desired state (Git) ---

  @Property({ type: 'json', columnType: 'jsonb', nullable: true })
  @IsOptional()
  @IsObject()
  desiredSpec: JsonObject | null = null;

  /** The desired spec before the last change to it; lets drift tell "removal not applied yet" from a server default. */
  @Property({ type: 'json', columnType: 'jsonb', nullable: true })
  @IsOptional()
  @IsObject()
  previousDesiredSpec: JsonObject | null = null;

  @Property({ type: 'text', nullable: true })
  @IsOptional()
  @IsString()
  desiredCommit: string | null = null;

  @Property({ type: 'text', nullable: true })
  @IsOptional()
  @IsString()
  desiredFilePath: string | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  @IsOptional()
  desiredUpdated: Date | null = null;

  // --- Draft state (prepared in the ledger, not yet published to Git) ---

  /** null = no draft. `apply`: publish `draft_spec` (and `draft_metadata`); `delete`: remove the object from Git. */
  @Enum({ items: [...DRAFT_OPERATIONS], type: 'text', nullable: true })
  @IsOptional()
  @IsIn(DRAFT_OPERATIONS)
  draftOperation: DraftOperation | null = null;

  /** The spec an `apply` draft puts in Git; null for no draft or a delete draft. */
  @Property({ type: 'json', columnType: 'jsonb', nullable: true })
  @Check({
    name: 'hedgehog_resource_draft_spec_check',
    expression: "draft_operation is distinct from 'apply' or draft_spec is not null",
  })
  @IsOptional()
  @IsObject()
  draftSpec: JsonObject | null = null;

  /** The draft's labels and annotations, `{ labels, annotations }`; null for no draft or a delete draft. */
  @Property({ type: 'json', columnType: 'jsonb', nullable: true })
  @IsOptional()
  @IsObject()
  draftMetadata: JsonObject | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  @IsOptional()
  draftUpdated: Date | null = null;

  /** Who made or last changed the draft (the `actor` of the call); null for no draft or when none was given. */
  @Property({ type: 'text', nullable: true })
  @IsOptional()
  @IsString()
  draftUpdatedBy: string | null = null;

  /**
   * The draft's base: the desired spec it was made from (null: the object was not in Git then). A three-way merge
   * with Git's newer spec starts from it.
   */
  @Property({ type: 'json', columnType: 'jsonb', nullable: true })
  @IsOptional()
  @IsObject()
  draftBaseSpec: JsonObject | null = null;

  /** The commit the draft's base was read from; null when there was no base or the source had no commit. */
  @Property({ type: 'text', nullable: true })
  @IsOptional()
  @IsString()
  draftBaseCommit: string | null = null;

  /** The file hash of the base's file when the draft was made; null when there was no base. */
  @Property({ type: 'text', nullable: true })
  @IsOptional()
  @IsString()
  draftBaseFileHash: string | null = null;

  // --- Actual state (cluster) ---

  @Property({ type: 'json', columnType: 'jsonb', nullable: true })
  @IsOptional()
  @IsObject()
  actualSpec: JsonObject | null = null;

  @Property({ type: 'json', columnType: 'jsonb', nullable: true })
  @IsOptional()
  @IsObject()
  actualStatus: JsonObject | null = null;

  @Property({ type: 'text', nullable: true })
  @IsOptional()
  @IsString()
  actualResourceVersion: string | null = null;

  @Property({ type: 'text', nullable: true })
  @IsOptional()
  @IsString()
  actualUid: string | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  @IsOptional()
  actualUpdated: Date | null = null;

  // --- Lifecycle ---

  /** A row nobody has committed or seen in the cluster yet is a draft. */
  @Enum({ items: [...RESOURCE_STATES], type: 'text', default: 'draft' })
  @IsIn(RESOURCE_STATES)
  resourceState: Opt<ResourceState> = 'draft';

  /** null = the state has never changed since the row was created. */
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  @IsOptional()
  lastStateChange: Date | null = null;

  @Property({ type: 'text', nullable: true })
  @IsOptional()
  @IsString()
  stateChangeReason: string | null = null;

  // --- Drift ---

  /** null = drift never computed for this row (no claim that it is in sync). */
  @Enum({ items: [...DRIFT_STATUSES], type: 'text', nullable: true })
  @IsOptional()
  @IsIn(DRIFT_STATUSES)
  driftStatus: DriftStatus | null = null;

  @Property({ type: 'json', columnType: 'jsonb', default: '{}' })
  @IsObject()
  driftDetails: Opt<JsonObject> = {};

  @Property({ type: 'double', columnType: 'double precision', default: 0 })
  @Check({
    name: 'hedgehog_resource_drift_score_check',
    expression: 'drift_score >= 0::double precision and drift_score <= 1::double precision',
  })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  driftScore: Opt<number> = 0;

  @Enum({ items: [...DRIFT_SEVERITIES], type: 'text', default: 'none' })
  @IsIn(DRIFT_SEVERITIES)
  driftSeverity: Opt<DriftSeverity> = 'none';

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  @IsOptional()
  lastDriftCheck: Date | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  @IsOptional()
  lastReconciliation: Date | null = null;

  @Property({ type: 'integer', default: 0 })
  @Check({ name: 'hedgehog_resource_reconciliation_attempts_check', expression: 'reconciliation_attempts >= 0' })
  @IsInt()
  @Min(0)
  reconciliationAttempts: Opt<number> = 0;

  // --- Relations ---

  @Property({ type: 'double', columnType: 'double precision', default: 0 })
  @Check({
    name: 'hedgehog_resource_dependency_score_check',
    expression: 'dependency_score >= 0::double precision and dependency_score <= 1::double precision',
  })
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  dependencyScore: Opt<number> = 0;

  @Property({ type: 'json', columnType: 'jsonb', default: '{}' })
  @IsObject()
  relationshipMetadata: Opt<JsonObject> = {};

  // --- Sync ---

  @Property({ type: 'text', nullable: true })
  @IsOptional()
  @IsString()
  lastSyncedCommit: string | null = null;

  @Property({ type: 'integer', default: 0 })
  @Check({ name: 'hedgehog_resource_sync_attempts_check', expression: 'sync_attempts >= 0' })
  @IsInt()
  @Min(0)
  syncAttempts: Opt<number> = 0;

  @Property({ type: 'text', nullable: true })
  @IsOptional()
  @IsString()
  lastSyncError: string | null = null;

  // --- Metadata ---

  @Property({ type: 'json', columnType: 'jsonb', default: '{}' })
  @IsObject()
  labels: Opt<Record<string, string>> = {};

  @Property({ type: 'json', columnType: 'jsonb', default: '{}' })
  @IsObject()
  annotations: Opt<Record<string, string>> = {};

  @Property({ type: 'json', columnType: 'jsonb', default: '{}' })
  @IsObject()
  customFieldData: Opt<JsonObject> = {};

  // --- Tracking ---

  /**
   * When either source first reported the object: the timestamp of the run (or watch write) that created the
   * row from Git or the cluster, never changed afterwards. null = never observed (e.g. a draft).
   */
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  @IsOptional()
  firstSeen: Date | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz', defaultRaw: 'now()' })
  created: Opt<Date> = new Date();

  @Property({ type: 'datetime', columnType: 'timestamptz', defaultRaw: 'now()', onUpdate: () => new Date() })
  lastUpdated: Opt<Date> = new Date();

  // --- File sync ---

  @Property({ type: 'text', nullable: true })
  @IsOptional()
  @IsString()
  managedFilePath: string | null = null;

  @Property({ type: 'text', nullable: true })
  @IsOptional()
  @IsString()
  fileHash: string | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  @IsOptional()
  lastFileSync: Date | null = null;

  /** `inherit`: the fabric's sync_direction applies; any other value overrides it for this object. */
  @Enum({ items: [...RESOURCE_SYNC_DIRECTIONS], type: 'text', default: 'inherit' })
  @IsIn(RESOURCE_SYNC_DIRECTIONS)
  syncDirection: Opt<ResourceSyncDirection> = 'inherit';

  @Enum({ items: [...CONFLICT_STATUSES], type: 'text', default: 'none' })
  @IsIn(CONFLICT_STATUSES)
  conflictStatus: Opt<ConflictStatus> = 'none';

  @Property({ type: 'json', columnType: 'jsonb', default: '{}' })
  @IsObject()
  conflictDetails: Opt<JsonObject> = {};

  /** Changes made outside the ledger (kubectl edits, direct commits), newest last. */
  @Property({ type: 'json', columnType: 'jsonb', default: '[]' })
  @IsArray()
  externalModifications: Opt<JsonObject[]> = [];

  @Property({ type: 'json', columnType: 'jsonb', default: '{}' })
  @IsObject()
  syncMetadata: Opt<JsonObject> = {};

  @BeforeCreate()
  protected validateBeforeCreate(): void {
    assertValid(this);
  }

  @BeforeUpdate()
  protected validateBeforeUpdate(): void {
    assertValid(this, true);
  }
}
