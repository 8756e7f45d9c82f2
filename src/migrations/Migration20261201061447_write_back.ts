import { Migration } from '@mikro-orm/migrations';

export class Migration20261201061447_write_back extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "hedgehog_resource" drop constraint if exists "hedgehog_resource_sync_direction_check";`);

    this.addSql(`alter table "state_transition" drop constraint if exists "state_transition_trigger_check";`);

    this.addSql(`alter table "sync_operation" drop constraint if exists "sync_operation_type_check";`);

    this.addSql(`alter table "hedgehog_fabric" add column "sync_direction" text check ("sync_direction" in ('git_to_ledger', 'ledger_to_git', 'bidirectional')) not null default 'bidirectional', add column "managed_file_template" text not null default 'managed/{plural}/{name}.yaml';`);

    this.addSql(`alter table "hedgehog_resource" add column "draft_operation" text check ("draft_operation" in ('apply', 'delete')) null, add column "draft_metadata" jsonb null, add column "draft_updated_by" text null, add column "draft_base_spec" jsonb null, add column "draft_base_commit" text null, add column "draft_base_file_hash" text null;`);
    this.addSql(`alter table "hedgehog_resource" alter column "sync_direction" type text using ("sync_direction"::text);`);
    this.addSql(`alter table "hedgehog_resource" alter column "sync_direction" set default 'inherit';`);
    // The old vocabulary was declared but never written by the sync; 'bidirectional' was only ever the default, which
    // now means "as the fabric says". The others keep their meaning under the new names.
    this.addSql(`update "hedgehog_resource" set "sync_direction" = case "sync_direction" when 'gui_to_git' then 'ledger_to_git' when 'git_to_gui' then 'git_to_ledger' when 'disabled' then 'git_to_ledger' else 'inherit' end;`);
    this.addSql(`alter table "hedgehog_resource" add constraint "hedgehog_resource_sync_direction_check" check("sync_direction" in ('inherit', 'git_to_ledger', 'ledger_to_git', 'bidirectional'));`);
    this.addSql(`alter table "hedgehog_resource" add constraint hedgehog_resource_draft_spec_check check(draft_operation is distinct from 'apply' or draft_spec is not null);`);

    this.addSql(`alter table "state_transition" add constraint "state_transition_trigger_check" check("trigger" in ('sync_actual', 'sync_desired', 'watch', 'manual', 'sync', 'draft', 'publish'));`);

    this.addSql(`alter table "sync_operation" add constraint "sync_operation_type_check" check("type" in ('actual', 'desired', 'watch', 'publish'));`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "hedgehog_resource" drop constraint if exists "hedgehog_resource_sync_direction_check";`);

    this.addSql(`alter table "state_transition" drop constraint if exists "state_transition_trigger_check";`);

    this.addSql(`alter table "sync_operation" drop constraint if exists "sync_operation_type_check";`);

    this.addSql(`alter table "hedgehog_fabric" drop column "sync_direction", drop column "managed_file_template";`);

    this.addSql(`alter table "hedgehog_resource" drop constraint hedgehog_resource_draft_spec_check;`);
    this.addSql(`alter table "hedgehog_resource" drop column "draft_operation", drop column "draft_metadata", drop column "draft_updated_by", drop column "draft_base_spec", drop column "draft_base_commit", drop column "draft_base_file_hash";`);

    this.addSql(`alter table "hedgehog_resource" alter column "sync_direction" type text using ("sync_direction"::text);`);
    this.addSql(`alter table "hedgehog_resource" alter column "sync_direction" set default 'bidirectional';`);
    this.addSql(`update "hedgehog_resource" set "sync_direction" = case "sync_direction" when 'ledger_to_git' then 'gui_to_git' when 'git_to_ledger' then 'git_to_gui' else 'bidirectional' end;`);
    this.addSql(`alter table "hedgehog_resource" add constraint "hedgehog_resource_sync_direction_check" check("sync_direction" in ('gui_to_git', 'git_to_gui', 'bidirectional', 'disabled'));`);

    this.addSql(`alter table "state_transition" add constraint "state_transition_trigger_check" check("trigger" in ('sync_actual', 'sync_desired', 'watch', 'manual', 'sync'));`);

    this.addSql(`alter table "sync_operation" add constraint "sync_operation_type_check" check("type" in ('actual', 'desired', 'watch'));`);
  }

}
