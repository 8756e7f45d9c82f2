import { Migration } from '@mikro-orm/migrations';

export class Migration20261126043410_ledger extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "hedgehog_fabric" ("id" serial primary key, "name" text not null, "description" text not null default '', "status" text check ("status" in ('planned', 'active', 'maintenance', 'decommissioned')) not null default 'active', "connection_status" text check ("connection_status" in ('unknown', 'connected', 'disconnected', 'error')) not null default 'unknown', "sync_status" text check ("sync_status" in ('never_synced', 'syncing', 'in_sync', 'out_of_sync', 'error')) not null default 'never_synced', "kubeconfig_path" text null, "kube_context" text null, "in_cluster" boolean not null default false, "api_server_url" text null, "namespaces" jsonb not null default '[]', "git_repository" text null, "git_ref" text null, "git_path" text not null default '', "crd_directory" text null, "ignore_rules" jsonb not null default '[]', "sync_enabled" boolean not null default true, "sync_interval_seconds" int not null default 300, "last_sync" timestamptz null, "last_actual_sync" timestamptz null, "last_desired_sync" timestamptz null, "last_sync_error" text null, "desired_commit" text null, "drift_summary" jsonb not null default '{}', "drifted_count" int not null default 0, "in_sync_count" int not null default 0, "kind_counts" jsonb not null default '{}', "created" timestamptz not null default now(), "last_updated" timestamptz not null default now(), constraint hedgehog_fabric_sync_interval_seconds_check check (sync_interval_seconds > 0));`);
    this.addSql(`alter table "hedgehog_fabric" add constraint "hedgehog_fabric_name_unique" unique ("name");`);

    this.addSql(`create table "hedgehog_resource" ("id" serial primary key, "fabric_id" int not null, "kind" text not null, "name" text not null, "namespace" text not null default 'default', "api_version" text null, "desired_spec" jsonb null, "previous_desired_spec" jsonb null, "desired_commit" text null, "desired_file_path" text null, "desired_updated" timestamptz null, "draft_spec" jsonb null, "draft_updated" timestamptz null, "actual_spec" jsonb null, "actual_status" jsonb null, "actual_resource_version" text null, "actual_uid" text null, "actual_updated" timestamptz null, "resource_state" text check ("resource_state" in ('draft', 'committed', 'pending', 'synced', 'drifted', 'orphaned')) not null default 'draft', "last_state_change" timestamptz null, "state_change_reason" text null, "drift_status" text check ("drift_status" in ('in_sync', 'spec_drift', 'desired_only', 'actual_only', 'creation_pending', 'deletion_pending')) null, "drift_details" jsonb not null default '{}', "drift_score" double precision not null default 0, "drift_severity" text check ("drift_severity" in ('none', 'low', 'medium', 'high', 'critical')) not null default 'none', "last_drift_check" timestamptz null, "last_reconciliation" timestamptz null, "reconciliation_attempts" int not null default 0, "dependency_score" double precision not null default 0, "relationship_metadata" jsonb not null default '{}', "last_synced_commit" text null, "sync_attempts" int not null default 0, "last_sync_error" text null, "labels" jsonb not null default '{}', "annotations" jsonb not null default '{}', "custom_field_data" jsonb not null default '{}', "first_seen" timestamptz null, "created" timestamptz not null default now(), "last_updated" timestamptz not null default now(), "managed_file_path" text null, "file_hash" text null, "last_file_sync" timestamptz null, "sync_direction" text check ("sync_direction" in ('gui_to_git', 'git_to_gui', 'bidirectional', 'disabled')) not null default 'bidirectional', "conflict_status" text check ("conflict_status" in ('none', 'detected', 'resolving', 'resolved')) not null default 'none', "conflict_details" jsonb not null default '{}', "external_modifications" jsonb not null default '[]', "sync_metadata" jsonb not null default '{}', constraint hedgehog_resource_drift_score_check check (drift_score >= 0::double precision and drift_score <= 1::double precision), constraint hedgehog_resource_dependency_score_check check (dependency_score >= 0::double precision and dependency_score <= 1::double precision));`);
    this.addSql(`create index "hedgehog_resource_fabric_managed_file_path_index" on "hedgehog_resource" ("fabric_id", "managed_file_path");`);
    this.addSql(`create index "hedgehog_resource_fabric_drift_status_index" on "hedgehog_resource" ("fabric_id", "drift_status");`);
    this.addSql(`create index "hedgehog_resource_fabric_kind_index" on "hedgehog_resource" ("fabric_id", "kind");`);
    this.addSql(`alter table "hedgehog_resource" add constraint "hedgehog_resource_identity_unique" unique ("fabric_id", "kind", "namespace", "name");`);

    this.addSql(`create table "state_transition" ("id" serial primary key, "resource_id" int not null, "fabric_id" int not null, "from_state" text check ("from_state" in ('draft', 'committed', 'pending', 'synced', 'drifted', 'orphaned')) null, "to_state" text check ("to_state" in ('draft', 'committed', 'pending', 'synced', 'drifted', 'orphaned')) not null, "trigger" text check ("trigger" in ('sync_actual', 'sync_desired', 'watch', 'manual', 'sync')) not null default 'sync', "reason" text not null default '', "context" jsonb not null default '{}', "timestamp" timestamptz not null default now());`);
    this.addSql(`create index "state_transition_fabric_id_index" on "state_transition" ("fabric_id");`);
    this.addSql(`create index "state_transition_resource_timestamp_index" on "state_transition" ("resource_id", "timestamp");`);

    this.addSql(`create table "sync_operation" ("id" serial primary key, "fabric_id" int not null, "type" text check ("type" in ('actual', 'desired', 'watch')) not null default 'actual', "status" text check ("status" in ('pending', 'in_progress', 'completed', 'partial', 'failed')) not null default 'pending', "started_at" timestamptz not null default now(), "finished_at" timestamptz null, "listed" int not null default 0, "created" int not null default 0, "updated" int not null default 0, "unchanged" int not null default 0, "cleared" int not null default 0, "failed" int not null default 0, "commit_sha" text null, "error_message" text null, "errors" jsonb not null default '[]', "skipped_kinds" jsonb not null default '[]', "other_kinds" jsonb not null default '{}', "details" jsonb not null default '{}');`);
    this.addSql(`create index "sync_operation_fabric_started_at_index" on "sync_operation" ("fabric_id", "started_at");`);

    this.addSql(`alter table "hedgehog_resource" add constraint "hedgehog_resource_fabric_id_foreign" foreign key ("fabric_id") references "hedgehog_fabric" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "state_transition" add constraint "state_transition_resource_id_foreign" foreign key ("resource_id") references "hedgehog_resource" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "state_transition" add constraint "state_transition_fabric_id_foreign" foreign key ("fabric_id") references "hedgehog_fabric" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "sync_operation" add constraint "sync_operation_fabric_id_foreign" foreign key ("fabric_id") references "hedgehog_fabric" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "hedgehog_resource" drop constraint "hedgehog_resource_fabric_id_foreign";`);

    this.addSql(`alter table "state_transition" drop constraint "state_transition_fabric_id_foreign";`);

    this.addSql(`alter table "sync_operation" drop constraint "sync_operation_fabric_id_foreign";`);

    this.addSql(`alter table "state_transition" drop constraint "state_transition_resource_id_foreign";`);

    this.addSql(`drop table if exists "hedgehog_fabric" cascade;`);

    this.addSql(`drop table if exists "hedgehog_resource" cascade;`);

    this.addSql(`drop table if exists "state_transition" cascade;`);

    this.addSql(`drop table if exists "sync_operation" cascade;`);
  }

}
