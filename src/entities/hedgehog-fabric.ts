import { BeforeCreate, BeforeUpdate, Check, Entity, Enum, PrimaryKey, Property, type Opt } from '@mikro-orm/core';
import {
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  Min,
} from 'class-validator';
import {
  CONNECTION_STATUSES,
  FABRIC_STATUSES,
  FABRIC_SYNC_STATUSES,
  SYNC_DIRECTIONS,
  type ConnectionStatus,
  type FabricStatus,
  type FabricSyncStatus,
  type SyncDirection,
} from './enums.js';
import { assertValid } from './validation.js';
import type { IgnoreRule } from '../drift/types.js';

/** A field the drift engine must not compare (one definition, the engine's). */
export type { IgnoreRule };

/** Objects of one kind in the ledger, and how many of them each side has. */
export interface KindCount {
  total: number;
  actual: number;
  desired: number;
}

/** The cached drift counts of a fabric (`unchecked` counts rows whose drift was never computed). */
export interface FabricDriftSummary {
  byStatus: Record<string, number>;
  bySeverity: Record<string, number>;
  total: number;
  /** Rows whose cluster version could not be read last time (marked by last_sync_error): drift may be stale. */
  unreadable?: number;
}

/**
 * One Hedgehog fabric: where its cluster and its Git source are, how it is synced,
 * and cached summaries of the last sync. Only *where to find* credentials is stored
 * (kubeconfig path and context, or in-cluster), never a token.
 */
@Entity({ tableName: 'hedgehog_fabric' })
export class HedgehogFabric {
  @PrimaryKey({ type: 'integer', autoincrement: true })
  id!: number;

  /** The fabric's identity: required, unique. */
  @Property({ type: 'text', unique: 'hedgehog_fabric_name_unique' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(253)
  @Matches(/^\S(.*\S)?$/, { message: 'name must not start or end with whitespace' })
  name!: string;

  @Property({ type: 'text', default: '' })
  @IsString()
  description: Opt<string> = '';

  @Enum({ items: [...FABRIC_STATUSES], type: 'text', default: 'active' })
  @IsIn(FABRIC_STATUSES)
  status: Opt<FabricStatus> = 'active';

  @Enum({ items: [...CONNECTION_STATUSES], type: 'text', default: 'unknown' })
  @IsIn(CONNECTION_STATUSES)
  connectionStatus: Opt<ConnectionStatus> = 'unknown';

  @Enum({ items: [...FABRIC_SYNC_STATUSES], type: 'text', default: 'never_synced' })
  @IsIn(FABRIC_SYNC_STATUSES)
  syncStatus: Opt<FabricSyncStatus> = 'never_synced';

  // --- How to reach the cluster (never a credential) ---

  /** Path of a kubeconfig file; null = the default lookup ($KUBECONFIG, ~/.kube/config). */
  @Property({ type: 'text', nullable: true })
  @IsOptional()
  @IsString()
  kubeconfigPath: string | null = null;

  /** Context inside the kubeconfig; null = its current-context. */
  @Property({ type: 'text', nullable: true })
  @IsOptional()
  @IsString()
  kubeContext: string | null = null;

  /** Use the in-cluster service account instead of a kubeconfig. */
  @Property({ type: 'boolean', default: false })
  @IsBoolean()
  inCluster: Opt<boolean> = false;

  /** API server URL, for display only (the kubeconfig decides where we connect). */
  @Property({ type: 'text', nullable: true })
  @IsOptional()
  @IsString()
  apiServerUrl: string | null = null;

  /** Namespaces to read; empty = all namespaces. */
  @Property({ type: 'json', columnType: 'jsonb', default: '[]' })
  @IsArray()
  @IsString({ each: true })
  namespaces: Opt<string[]> = [];

  // --- Git source of the desired state ---

  /** Local path or URL of the repository; null = no desired-state source configured. */
  @Property({ type: 'text', nullable: true })
  @IsOptional()
  @IsString()
  gitRepository: string | null = null;

  /** Branch, tag or commit; null = the repository's default branch (HEAD). */
  @Property({ type: 'text', nullable: true })
  @IsOptional()
  @IsString()
  gitRef: string | null = null;

  /** Sub-path inside the repository holding the manifests; '' = the repository root. */
  @Property({ type: 'text', default: '' })
  @IsString()
  gitPath: Opt<string> = '';

  /** Directory of CRD YAML files used to validate and default specs; null = none. */
  @Property({ type: 'text', nullable: true })
  @IsOptional()
  @IsString()
  crdDirectory: string | null = null;

  /** Fields the drift engine ignores. */
  @Property({ type: 'json', columnType: 'jsonb', default: '[]' })
  @IsArray()
  ignoreRules: Opt<IgnoreRule[]> = [];

  // --- Write-back (drafts published to Git) ---

  /** `git_to_ledger`: Git is read only, drafts are refused; `ledger_to_git` / `bidirectional`: drafts are published. */
  @Enum({ items: [...SYNC_DIRECTIONS], type: 'text', default: 'bidirectional' })
  @IsIn(SYNC_DIRECTIONS)
  syncDirection: Opt<SyncDirection> = 'bidirectional';

  /**
   * Where a published object Git does not declare yet is written, relative to git_path: placeholders {plural},
   * {kind}, {namespace}, {name} (the original plugin's layout by default).
   */
  @Property({ type: 'text', default: 'managed/{plural}/{name}.yaml' })
  @IsString()
  @IsNotEmpty()
  managedFileTemplate: Opt<string> = 'managed/{plural}/{name}.yaml';

  // --- Sync settings ---

  @Property({ type: 'boolean', default: true })
  @IsBoolean()
  syncEnabled: Opt<boolean> = true;

  @Property({ type: 'integer', default: 300 })
  @Check({ name: 'hedgehog_fabric_sync_interval_seconds_check', expression: 'sync_interval_seconds > 0' })
  @IsInt()
  @Min(1)
  syncIntervalSeconds: Opt<number> = 300;

  // --- Last sync (null = never happened) ---

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  @IsOptional()
  lastSync: Date | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  @IsOptional()
  lastActualSync: Date | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  @IsOptional()
  lastDesiredSync: Date | null = null;

  @Property({ type: 'text', nullable: true })
  @IsOptional()
  @IsString()
  lastSyncError: string | null = null;

  /** Commit SHA the desired state was last read from. */
  @Property({ type: 'text', nullable: true })
  @IsOptional()
  @IsString()
  desiredCommit: string | null = null;

  // --- Cached summaries ---

  /** Counts per drift status and severity: { byStatus: { in_sync: 40, … }, bySeverity: { none: 40, … }, total: 42 }. */
  @Property({ type: 'json', columnType: 'jsonb', default: '{}' })
  @IsObject()
  driftSummary: Opt<FabricDriftSummary | Record<string, never>> = {};

  @Property({ type: 'integer', default: 0 })
  @Check({ name: 'hedgehog_fabric_drifted_count_check', expression: 'drifted_count >= 0' })
  @IsInt()
  @Min(0)
  driftedCount: Opt<number> = 0;

  @Property({ type: 'integer', default: 0 })
  @Check({ name: 'hedgehog_fabric_in_sync_count_check', expression: 'in_sync_count >= 0' })
  @IsInt()
  @Min(0)
  inSyncCount: Opt<number> = 0;

  /** Counts per kind: { VPC: { total: 3, actual: 3, desired: 2 }, … }. */
  @Property({ type: 'json', columnType: 'jsonb', default: '{}' })
  @IsObject()
  kindCounts: Opt<Record<string, KindCount>> = {};

  @Property({ type: 'datetime', columnType: 'timestamptz', defaultRaw: 'now()' })
  created: Opt<Date> = new Date();

  @Property({ type: 'datetime', columnType: 'timestamptz', defaultRaw: 'now()', onUpdate: () => new Date() })
  lastUpdated: Opt<Date> = new Date();

  @BeforeCreate()
  protected validateBeforeCreate(): void {
    assertValid(this);
  }

  @BeforeUpdate()
  protected validateBeforeUpdate(): void {
    assertValid(this, true);
  }
}
