import { Migration } from '@mikro-orm/migrations';

export class Migration20261201002747_crd_schemas extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "fabric_crd_schema" ("id" serial primary key, "fabric_id" int not null, "kind" text not null, "crd_name" text not null, "resource_version" text null, "spec" jsonb not null default '{}', "read_at" timestamptz not null default now());`);
    this.addSql(`alter table "fabric_crd_schema" add constraint "fabric_crd_schema_fabric_crd_name_unique" unique ("fabric_id", "crd_name");`);

    this.addSql(`alter table "fabric_crd_schema" add constraint "fabric_crd_schema_fabric_id_foreign" foreign key ("fabric_id") references "hedgehog_fabric" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "fabric_crd_schema" cascade;`);
  }

}
