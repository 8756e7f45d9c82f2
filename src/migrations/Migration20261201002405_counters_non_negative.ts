import { Migration } from '@mikro-orm/migrations';

export class Migration20261201002405_counters_non_negative extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "state_transition" drop constraint if exists "state_transition_to_state_check";`);

    this.addSql(`alter table "state_transition" drop constraint "state_transition_resource_id_foreign";`);

    this.addSql(`alter table "hedgehog_fabric" add constraint hedgehog_fabric_drifted_count_check check(drifted_count >= 0);`);
    this.addSql(`alter table "hedgehog_fabric" add constraint hedgehog_fabric_in_sync_count_check check(in_sync_count >= 0);`);

    this.addSql(`alter table "hedgehog_resource" add constraint hedgehog_resource_reconciliation_attempts_check check(reconciliation_attempts >= 0);`);
    this.addSql(`alter table "hedgehog_resource" add constraint hedgehog_resource_sync_attempts_check check(sync_attempts >= 0);`);

    this.addSql(`alter table "state_transition" add column "kind" text null, add column "namespace" text null, add column "name" text null, add column "sync_operation_id" int null;`);
    this.addSql(`alter table "state_transition" alter column "resource_id" type int using ("resource_id"::int);`);
    this.addSql(`alter table "state_transition" alter column "resource_id" drop not null;`);
    this.addSql(`alter table "state_transition" add constraint "state_transition_to_state_check" check("to_state" in ('draft', 'committed', 'pending', 'synced', 'drifted', 'orphaned', 'deleted'));`);
    this.addSql(`alter table "state_transition" add constraint "state_transition_resource_id_foreign" foreign key ("resource_id") references "hedgehog_resource" ("id") on update cascade on delete set null;`);
    this.addSql(`create index "state_transition_detached_identity_index" on "state_transition" ("fabric_id", "kind", "namespace", "name", "timestamp") where "resource_id" is null;`);

    this.addSql(`alter table "sync_operation" add constraint sync_operation_listed_check check(listed >= 0);`);
    this.addSql(`alter table "sync_operation" add constraint sync_operation_created_check check(created >= 0);`);
    this.addSql(`alter table "sync_operation" add constraint sync_operation_updated_check check(updated >= 0);`);
    this.addSql(`alter table "sync_operation" add constraint sync_operation_unchanged_check check(unchanged >= 0);`);
    this.addSql(`alter table "sync_operation" add constraint sync_operation_cleared_check check(cleared >= 0);`);
    this.addSql(`alter table "sync_operation" add constraint sync_operation_failed_check check(failed >= 0);`);

    // first_seen was never written before this version: the row's creation is the best record of it.
    this.addSql(`update "hedgehog_resource" set "first_seen" = "created" where "first_seen" is null and ("desired_spec" is not null or "actual_spec" is not null);`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "state_transition" drop constraint if exists "state_transition_to_state_check";`);

    this.addSql(`alter table "state_transition" drop constraint "state_transition_resource_id_foreign";`);

    this.addSql(`alter table "hedgehog_fabric" drop constraint hedgehog_fabric_drifted_count_check;`);
    this.addSql(`alter table "hedgehog_fabric" drop constraint hedgehog_fabric_in_sync_count_check;`);

    this.addSql(`alter table "hedgehog_resource" drop constraint hedgehog_resource_reconciliation_attempts_check;`);
    this.addSql(`alter table "hedgehog_resource" drop constraint hedgehog_resource_sync_attempts_check;`);

    // The old schema cannot hold history without its resource row, nor a `deleted` transition.
    this.addSql(`delete from "state_transition" where "resource_id" is null or "to_state" = 'deleted';`);
    this.addSql(`drop index "state_transition_detached_identity_index";`);
    // Reverting an additive change drops what it added; no client of the old schema reads these columns.
    this.addSql(`-- squawk-ignore ban-drop-column
alter table "state_transition" drop column "kind", drop column "namespace", drop column "name", drop column "sync_operation_id";`);

    this.addSql(`alter table "state_transition" alter column "resource_id" type int using ("resource_id"::int);`);
    // The old schema's NOT NULL; the rows it could not hold were deleted above.
    this.addSql(`-- squawk-ignore adding-not-nullable-field
alter table "state_transition" alter column "resource_id" set not null;`);
    this.addSql(`alter table "state_transition" add constraint "state_transition_to_state_check" check("to_state" in ('draft', 'committed', 'pending', 'synced', 'drifted', 'orphaned'));`);
    this.addSql(`alter table "state_transition" add constraint "state_transition_resource_id_foreign" foreign key ("resource_id") references "hedgehog_resource" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "sync_operation" drop constraint sync_operation_listed_check;`);
    this.addSql(`alter table "sync_operation" drop constraint sync_operation_created_check;`);
    this.addSql(`alter table "sync_operation" drop constraint sync_operation_updated_check;`);
    this.addSql(`alter table "sync_operation" drop constraint sync_operation_unchanged_check;`);
    this.addSql(`alter table "sync_operation" drop constraint sync_operation_cleared_check;`);
    this.addSql(`alter table "sync_operation" drop constraint sync_operation_failed_check;`);
  }

}
