/**
 * The name of every migration, in order, without the migration classes: what a ledger must have applied. Opening
 * the ledger compares these with the names in the migrations table (one query) and loads the migrator and the
 * classes (src/db/migrations-list.ts) only when one is missing. A test keeps the two lists equal.
 */
export const MIGRATION_NAMES: readonly string[] = [
  'Migration20261126043410_ledger',
  'Migration20261126060155_transition_fabric_plain_column',
  'Migration20261201002405_counters_non_negative',
  'Migration20261201002747_crd_schemas',
  'Migration20261201033950_resource_identity_checks',
  'Migration20261201061447_write_back',
  'Migration20261203095031_history_one_index',
];

/** The migrations of this version not among `applied` (names without a .js/.ts ending), in the order they run. */
export function pendingMigrationNames(applied: Iterable<string>): string[] {
  const done = new Set(applied);
  return MIGRATION_NAMES.filter((name) => !done.has(name));
}

/** Table MikroORM records applied migrations in (here, not in the ORM config, so a reader without MikroORM can name it). */
export const MIGRATIONS_TABLE = 'mikro_orm_migrations';
