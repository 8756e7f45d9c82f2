import { Migration } from '@mikro-orm/migrations';

export class Migration20261126060155_transition_fabric_plain_column extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "state_transition" drop constraint "state_transition_fabric_id_foreign";`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "state_transition" add constraint "state_transition_fabric_id_foreign" foreign key ("fabric_id") references "hedgehog_fabric" ("id") on update cascade on delete cascade;`);
  }

}
