import { Migration } from '@mikro-orm/migrations';

export class Migration20261203095031_history_one_index extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "state_transition" drop constraint "state_transition_resource_id_foreign";`);

    this.addSql(`drop index "state_transition_fabric_id_index";`);
    this.addSql(`drop index "state_transition_resource_timestamp_index";`);

    this.addSql(`create index "state_transition_fabric_resource_timestamp_index" on "state_transition" ("fabric_id", "resource_id", "timestamp");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "state_transition_fabric_resource_timestamp_index";`);
    // Without the key, history may name resource rows deleted by hand since: detach it, or the key cannot return.
    this.addSql(`update "state_transition" st set "resource_id" = null where st."resource_id" is not null and not exists (select 1 from "hedgehog_resource" r where r."id" = st."resource_id");`);

    this.addSql(`alter table "state_transition" add constraint "state_transition_resource_id_foreign" foreign key ("resource_id") references "hedgehog_resource" ("id") on update cascade on delete set null;`);
    this.addSql(`create index "state_transition_fabric_id_index" on "state_transition" ("fabric_id");`);
    this.addSql(`create index "state_transition_resource_timestamp_index" on "state_transition" ("resource_id", "timestamp");`);
  }

}
