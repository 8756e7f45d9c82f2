export { openDatabase, type OpenDatabaseOptions, type OpenedDatabase, type DatabaseLogger } from './open-database.js';
export { startEmbeddedPostgres, DEFAULT_DATA_DIR, type EmbeddedPostgres, type EmbeddedPostgresOptions } from './embedded-postgres.js';
export { createOrmConfig, createBaseOrmConfig, MIGRATIONS, MIGRATIONS_DIR, MIGRATIONS_TABLE, SNAPSHOT_NAME } from './orm-config.js';
export { redactDatabaseUrl, resolveDatabaseUrl } from './database-url.js';
export { checkLedgerSchema, assertLedgerSchemaHealthy, LedgerSchemaUnhealthyError, type SchemaPreflight } from './schema-preflight.js';
export { DoctorScopeError, type DoctorReport, type DoctorFinding, type DoctorRepair, type SchemaDoctorOptions } from './schema-doctor.js';
export { DatabaseMissingError, DatabaseUnavailableError, DEFAULT_CONNECT_TIMEOUT_MS, probeDatabase } from './database-probe.js';
