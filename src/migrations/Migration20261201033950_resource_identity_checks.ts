import { Migration } from '@mikro-orm/migrations';

export class Migration20261201033950_resource_identity_checks extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "hedgehog_resource" add constraint hedgehog_resource_kind_check check(kind ~ '^[A-Z][A-Za-z0-9]*\$' and length(kind) <= 63);`);
    this.addSql(`alter table "hedgehog_resource" add constraint hedgehog_resource_name_check check(name ~ '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\$' and length(name) <= 253);`);
    this.addSql(`alter table "hedgehog_resource" add constraint hedgehog_resource_namespace_check check(namespace ~ '^[a-z0-9]([-a-z0-9]*[a-z0-9])?\$' and length(namespace) <= 63);`);
    this.addSql(`alter table "hedgehog_resource" add constraint hedgehog_resource_api_version_check check(api_version <> '');`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "hedgehog_resource" drop constraint hedgehog_resource_kind_check;`);
    this.addSql(`alter table "hedgehog_resource" drop constraint hedgehog_resource_name_check;`);
    this.addSql(`alter table "hedgehog_resource" drop constraint hedgehog_resource_namespace_check;`);
    this.addSql(`alter table "hedgehog_resource" drop constraint hedgehog_resource_api_version_check;`);
  }

}
