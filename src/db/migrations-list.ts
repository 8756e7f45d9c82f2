/**
 * Every migration, in order. Listed explicitly (not globbed) so a host
 * application can run them from the compiled package; a test fails when a file
 * in src/migrations is missing here.
 */
import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261126043410_ledger } from '../migrations/Migration20261126043410_ledger.js';
import { Migration20261126060155_transition_fabric_plain_column } from '../migrations/Migration20261126060155_transition_fabric_plain_column.js';
import { Migration20261201002405_counters_non_negative } from '../migrations/Migration20261201002405_counters_non_negative.js';
import { Migration20261201002747_crd_schemas } from '../migrations/Migration20261201002747_crd_schemas.js';
import { Migration20261201033950_resource_identity_checks } from '../migrations/Migration20261201033950_resource_identity_checks.js';
import { Migration20261201061447_write_back } from '../migrations/Migration20261201061447_write_back.js';
import { Migration20261203095031_history_one_index } from '../migrations/Migration20261203095031_history_one_index.js';

export const MIGRATIONS: MigrationObject[] = [
  { name: 'Migration20261126043410_ledger', class: Migration20261126043410_ledger },
  {
    name: 'Migration20261126060155_transition_fabric_plain_column',
    class: Migration20261126060155_transition_fabric_plain_column,
  },
  { name: 'Migration20261201002405_counters_non_negative', class: Migration20261201002405_counters_non_negative },
  { name: 'Migration20261201002747_crd_schemas', class: Migration20261201002747_crd_schemas },
  { name: 'Migration20261201033950_resource_identity_checks', class: Migration20261201033950_resource_identity_checks },
  { name: 'Migration20261201061447_write_back', class: Migration20261201061447_write_back },
  { name: 'Migration20261203095031_history_one_index', class: Migration20261203095031_history_one_index },
];
