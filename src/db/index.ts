/**
 * The ledger's database, public as `hedgehog-fabric-sync/db`: opening it (a URL or the embedded PostgreSQL), the
 * ORM configuration, probing a server, the pre-flight schema check and the schema doctor. An explicit list, so a
 * change to it is deliberate (test/public-api.test.ts); the CLI's and the migration tooling's constants
 * (migrations directory, snapshot name) are imported from their modules.
 */
export { openDatabase, type OpenDatabaseOptions, type OpenedDatabase, type DatabaseLogger } from './open-database.js';
export {
  startEmbeddedPostgres,
  DEFAULT_DATA_DIR,
  type EmbeddedPostgres,
  type EmbeddedPostgresOptions,
} from './embedded-postgres.js';
export { createOrmConfig, MIGRATIONS, MIGRATIONS_TABLE } from './orm-config.js';
export { redactDatabaseUrl, resolveDatabaseUrl } from './database-url.js';
export {
  checkLedgerSchema,
  assertLedgerSchemaHealthy,
  LedgerSchemaUnhealthyError,
  type SchemaPreflight,
} from './schema-preflight.js';
export {
  runSchemaDoctor,
  formatDoctorReport,
  DoctorScopeError,
  type DoctorReport,
  type DoctorFinding,
  type DoctorFindingKind,
  type DoctorRepair,
  type SchemaDoctorOptions,
} from './schema-doctor.js';
export {
  DatabaseMissingError,
  DatabaseUnavailableError,
  DEFAULT_CONNECT_TIMEOUT_MS,
  probeDatabase,
} from './database-probe.js';
