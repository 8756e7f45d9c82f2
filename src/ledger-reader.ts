/**
 * The part of a ledger that reads and manages fabrics without touching a cluster or a repository: the database,
 * the fabric registry, the drift report, the schema doctor. `openLedger` (src/ledger.ts) builds the full ledger on
 * top of it; commands that need no more (`hh-sync fabric …`, `hh-sync drift`) open only this, so they never load
 * the Kubernetes client, the Git reader, the publisher or the migrator (see "CLI latency" in docs/benchmarks.md).
 * (`fabric list` and `drift` go further on an up-to-date PostgreSQL ledger: they read it without MikroORM,
 * src/cli/pg-fabric-reads.ts, and open this only for the embedded ledger or a pending migration.)
 * test/cli-module-loading.test.ts keeps it that way.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import type { EntityManager } from '@mikro-orm/core';
import { openDatabase } from './db/open-database.js';
import { redactDatabaseUrl } from './db/database-url.js';
import type { DoctorReport, SchemaDoctorOptions } from './db/schema-doctor.js';
import { HedgehogFabric } from './entities/index.js';
import { FabricRegistry } from './fabrics/fabric-registry.js';
import { FabricNotFoundError } from './fabrics/fabric-not-found.js';
import type { FabricRef } from './sync/fabric-sync-service.js';
import type { DriftReport, DriftReportFilter } from './sync/drift-report.js';
import type { Logger } from './sync/logger.js';
import type { ResourceIdentity } from './sync/history.js';
import type {
  FabricOverview,
  LedgerObject,
  ObjectFilter,
  ObjectHistory,
  ReadOptions,
  RunFilter,
  RunRecord,
} from './reads/ledger-reads.js';

/** Where the ledger's database is and how to reach it (the first half of LedgerOptions). */
export interface LedgerDatabaseOptions {
  /** PostgreSQL URL; default HH_SYNC_DATABASE_URL, then DATABASE_URL, then the embedded database. */
  databaseUrl?: string;
  /** Embedded database directory (default `.hh-sync/pgdata` under the working directory; `'memory'` for none). */
  dataDir?: string;
  /** Use the embedded database even when a URL is in the environment. */
  embedded?: boolean;
  /** Apply pending migrations on open (default true). */
  migrate?: boolean;
  /** Create the database the URL names if it does not exist (default false: a missing database is an error). */
  createDatabase?: boolean;
  /** Bound of one database connection attempt in ms (default 10 000). */
  connectTimeoutMs?: number;
  /** Client-side bound of one statement in ms (default 300 000): a database gone silent mid-run fails the run. */
  statementTimeoutMs?: number;
  /** A pino-compatible logger (pino itself fits). Silent by default. */
  logger?: Logger;
}

export interface LedgerReader {
  orm: MikroORM;
  em: EntityManager;
  fabrics: FabricRegistry;
  /** Counts per drift status and severity, and the drifted objects with their differences. */
  driftReport(fabric: FabricRef, filter?: DriftReportFilter): Promise<DriftReport>;
  /** The fabric's runs, newest first (the last 20 unless `limit` says otherwise), and whether one in progress is. */
  runs(fabric: FabricRef, filter?: RunFilter & ReadOptions): Promise<RunRecord[]>;
  /** One object's state transitions, oldest first, deletions and earlier incarnations included. */
  history(fabric: FabricRef, object: ResourceIdentity): Promise<ObjectHistory>;
  /** The objects the ledger holds (both sides, drift, provenance), by kind, namespace and name. */
  objects(fabric: FabricRef, filter?: ObjectFilter): Promise<LedgerObject[]>;
  /** The fabric's settings, last runs (5 by default), drift counts, watch lease holder and row counts. */
  fabricOverview(fabric: FabricRef, options?: { runs?: number } & ReadOptions): Promise<FabricOverview>;
  /** The schema doctor on this ledger's database. */
  doctor(options?: SchemaDoctorOptions): Promise<DoctorReport>;
  /** Where the ledger lives, safe to show (password redacted). */
  location: string;
  embedded: boolean;
  close(): Promise<void>;
}

/** The database opened (and migrated) for a ledger, with where it is and how to close it. */
export async function openLedgerDatabase(
  options: LedgerDatabaseOptions,
): Promise<{ orm: MikroORM; place: Pick<LedgerReader, 'location' | 'embedded' | 'close'> }> {
  const db = await openDatabase({
    url: options.databaseUrl,
    dataDir: options.dataDir,
    embedded: options.embedded,
    migrate: options.migrate,
    createDatabase: options.createDatabase,
    connectTimeoutMs: options.connectTimeoutMs,
    statementTimeoutMs: options.statementTimeoutMs,
    logger: options.logger ? (m: string) => options.logger!.debug(m) : undefined,
  });
  return {
    orm: db.orm,
    place: {
      location: db.embedded ? `embedded PGlite (${options.dataDir ?? '.hh-sync/pgdata'})` : redactDatabaseUrl(db.url),
      embedded: db.embedded,
      close: () => db.close(),
    },
  };
}

/** Opens the ledger's database for reading and fabric management only. */
export async function openLedgerReader(options: LedgerDatabaseOptions = {}): Promise<LedgerReader> {
  const { orm, place } = await openLedgerDatabase(options);
  return readerOnOrm(orm, place);
}

/** The reader over an ORM that is already open and migrated. */
export function readerOnOrm(orm: MikroORM, place: Pick<LedgerReader, 'location' | 'embedded' | 'close'>): LedgerReader {
  const em = orm.em;
  return {
    orm,
    em,
    fabrics: new FabricRegistry(em),
    driftReport: async (ref, filter) => {
      const [fabric, { driftReport }] = await Promise.all([fabricOf(em, ref), import('./sync/drift-report.js')]);
      return driftReport(em.fork(), fabric, filter);
    },
    runs: async (ref, filter = {}) => {
      const [fabric, reads] = await Promise.all([fabricOf(em, ref), import('./reads/ledger-reads.js')]);
      return reads.fabricRuns(em.fork(), fabric, filter, { ...filter, embedded: place.embedded });
    },
    history: async (ref, object) => {
      const [fabric, reads] = await Promise.all([fabricOf(em, ref), import('./reads/ledger-reads.js')]);
      return reads.objectHistory(em.fork(), fabric, object);
    },
    objects: async (ref, filter = {}) => {
      const [fabric, reads] = await Promise.all([fabricOf(em, ref), import('./reads/ledger-reads.js')]);
      return reads.ledgerObjects(em.fork(), fabric, filter);
    },
    fabricOverview: async (ref, options = {}) => {
      const [fabric, reads] = await Promise.all([fabricOf(em, ref), import('./reads/ledger-reads.js')]);
      return reads.fabricOverview(em.fork(), fabric, { ...options, embedded: place.embedded });
    },
    doctor: async (o) => (await import('./db/schema-doctor.js')).runSchemaDoctor(orm, o),
    ...place,
  };
}

/** The fabric a reference names (as FabricSyncService.resolveFabric does); FabricNotFoundError when there is none. */
async function fabricOf(em: EntityManager, ref: FabricRef): Promise<HedgehogFabric> {
  if (ref instanceof HedgehogFabric) return ref;
  const fabric = await em.fork().findOne(HedgehogFabric, typeof ref === 'number' ? { id: ref } : { name: ref });
  if (!fabric) throw new FabricNotFoundError(ref);
  return fabric;
}
